import MNAgent
import Testing

@Suite("Redis URLs")
struct RedisURLTests {
    @Test(
        "parses the documented forms",
        arguments: [
            ("redis://localhost", RedisURL(endpoint: .tcp(host: "localhost", port: 6379))),
            ("redis://127.0.0.1:6380/2", RedisURL(endpoint: .tcp(host: "127.0.0.1", port: 6380), database: 2)),
            ("redis://:s3cr%40t@db:7000", RedisURL(endpoint: .tcp(host: "db", port: 7000), password: "s3cr@t")),
            ("redis://:50%off@db", RedisURL(endpoint: .tcp(host: "db", port: 6379), password: "50%off")),
            ("redis://mn:pw@[::1]:6379", RedisURL(endpoint: .tcp(host: "::1", port: 6379), username: "mn", password: "pw")),
            ("unix:///run/mn/redis.sock", RedisURL(endpoint: .unix(path: "/run/mn/redis.sock"))),
            (
                "unix://agent:pw@/run/redis.sock?db=3",
                RedisURL(endpoint: .unix(path: "/run/redis.sock"), username: "agent", password: "pw", database: 3)
            ),
            (
                "redis+sentinel://s1,s2:26380,[::1]:26381/mymaster",
                RedisURL(
                    endpoint: .sentinel(
                        sentinels: [.init(host: "s1", port: 26379), .init(host: "s2", port: 26380), .init(host: "::1", port: 26381)],
                        master: "mymaster"))
            ),
            (
                "redis+sentinel://mn:p%40ss@10.0.0.1:5000/main/4",
                RedisURL(
                    endpoint: .sentinel(sentinels: [.init(host: "10.0.0.1", port: 5000)], master: "main"), username: "mn",
                    password: "p@ss", database: 4)
            ),
        ])
    func parses(_ text: String, _ expected: RedisURL) throws {
        #expect(try RedisURL(parsing: text) == expected)
    }

    @Test(
        "rejects malformed URLs with a message naming the forms",
        arguments: [
            "http://x", "redis://", "redis://h:99999", "unix://relative.sock", "redis://h/x", "redis+sentinel://s1",
            "redis+sentinel://s1/", "redis+sentinel://s1,/m", "redis+sentinel://s1:0/m", "redis+sentinel://s1/m/x", "redis+sentinel://s1/m/1/2",
        ])
    func rejects(_ text: String) {
        #expect(throws: RedisError.self) { try RedisURL(parsing: text) }
        let message =
            (try? RedisURL(parsing: text)).map { _ in "" }
            ?? "\(String(describing: (Result { try RedisURL(parsing: text) }).failureDescription))"
        #expect(message.contains("redis://[user:password@]host[:port][/db]"))
    }

    @Test("the description never shows the password")
    func redacts() throws {
        let url = try RedisURL(parsing: "redis://mn:hunter2@db:6379/1")
        #expect(url.description == "redis://mn:***@db:6379/1")
        #expect(!String(describing: url).contains("hunter2"))
        let sentinel = try RedisURL(parsing: "redis+sentinel://:hunter2@a,b:1/m/2")
        #expect(sentinel.description == "redis+sentinel://:***@a:26379,b:1/m/2")
    }

    @Test(
        "finds the password of a URL argument, to hide it from ps",
        arguments: [
            ("redis://:s3cret@db:7000", "redis://:******@db:7000"),
            ("--redis=redis://mn:pw@[::1]:6379/2", "--redis=redis://mn:**@[::1]:6379/2"),
            ("unix://agent:p%40ss@/run/redis.sock?db=3", "unix://agent:******@/run/redis.sock?db=3"),
            ("redis+sentinel://:pw@a:26379,b:26379/main", "redis+sentinel://:**@a:26379,b:26379/main"),
            ("redis://db:6379", "redis://db:6379"),
            ("redis://user@db", "redis://user@db"),
            ("unix:///run/mn/redis.sock", "unix:///run/mn/redis.sock"),
            ("--log-level", "--log-level"),
            ("http://example.com/a:b@c", "http://example.com/a:b@c"),
        ])
    func hidesPasswords(_ argument: String, _ shown: String) {
        var bytes = Array(argument.utf8)
        if let range = ProcessArguments.passwordRange(in: bytes) {
            for offset in range { bytes[offset] = UInt8(ascii: "*") }
        }
        #expect(String(decoding: bytes, as: UTF8.self) == shown)
    }
}

extension Result {
    var failureDescription: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}
