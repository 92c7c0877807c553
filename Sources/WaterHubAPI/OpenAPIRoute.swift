import Hummingbird

/// The API's OpenAPI 3.1 description, `Sources/WaterHubAPI/openapi.yaml`, embedded at build time.
public enum OpenAPIDocument {
    /// The document's bytes, exactly as in the repository.
    public static var bytes: [UInt8] { PackageResources.openapi_yaml }

    /// Serves it at `GET /openapi.yaml`, without a token.
    public static func add(to router: Router<HubRequestContext>) {
        router.get("openapi.yaml") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
