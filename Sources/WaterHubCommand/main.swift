print("waterhub")
