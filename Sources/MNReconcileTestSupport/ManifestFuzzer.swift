import Foundation
import MNCore

/// Generated bad input for manifest reading: documents made by mutating valid manifests, as
/// trees (a field swapped for a value of another kind, removed, repeated, misspelt, added) and
/// as bytes (flipped, cut, inserted, not UTF-8, in JSON and YAML). The same seed makes the same
/// documents (``SplitMix64``), so a failure names one that can be replayed. Used by the MNCore
/// tests (a few thousand documents, in debug) and by mn-release-checks (100,000, optimised).
public enum ManifestFuzzer {
    /// What a run found.
    public struct Report: Sendable {
        /// Documents read.
        public var documents = 0
        /// Documents accepted (each read back from its own encoding as the same manifest).
        public var accepted = 0
        /// The first document that broke a rule, and how; `nil` if none did.
        public var failure: String?
    }

    /// Reads `trees` mutated trees and `bytes` mutated byte strings, stopping at the first
    /// failure: a document that crashes the reader is a crash of the process, any other
    /// rejection must carry problems with messages, a well-formed JSON document's must each
    /// name a field, and an accepted one must read back from its encoding unchanged.
    public static func run(trees: Int, bytes: Int, seed: UInt64) -> Report {
        var report = Report()
        var random = SplitMix64(seed: seed)
        // Mutations of a valid manifest: a seed that no longer is one (the format moved on) is a failure.
        for (index, seed) in (seeds + [yamlSeed]).enumerated() {
            do { _ = try Manifest.parse(Data(seed.utf8)) } catch {
                report.failure = "seed \(index) is not a valid manifest: \(error)"
                return report
            }
        }
        /// Reads one document; whether to go on (no rule broken).
        func read(_ text: [UInt8], _ format: ManifestFormat, wellFormed: Bool, _ name: @autoclosure () -> String) -> Bool {
            report.documents += 1
            switch check(text, format: format, wellFormed: wellFormed) {
            case .accepted: report.accepted += 1
            case .rejected: break
            case .broken(let why):
                report.failure = "\(name()) (\(format)): \(why)\n\(String(decoding: text, as: UTF8.self))"
                return false
            }
            return true
        }
        let seedTrees = seeds.map { try! JSONValue.parse(Data($0.utf8), format: .json) }
        for round in 0..<trees {
            var tree = seedTrees[round % seedTrees.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) { mutate(&tree, using: &random) }
            // A JSON document is YAML too: every tenth goes through the YAML reader (which
            // refuses some strings JSON escapes, such as control characters: a syntax error is fair there).
            let format: ManifestFormat = round % 10 == 0 ? .yaml : .json
            guard read(CanonicalJSON.bytes(tree), format, wellFormed: format == .json, "tree \(round)") else { return report }
        }
        let texts: [(bytes: [UInt8], format: ManifestFormat)] = seeds.map { (Array($0.utf8), .json) } + [(Array(yamlSeed.utf8), .yaml)]
        for round in 0..<bytes {
            var (text, format) = texts[round % texts.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) { mutate(bytes: &text, using: &random) }
            guard read(text, format, wellFormed: false, "bytes \(round)") else { return report }
        }
        return report
    }

    enum Verdict { case accepted, rejected, broken(String) }

    static func check(_ bytes: [UInt8], format: ManifestFormat, wellFormed: Bool) -> Verdict {
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(Data(bytes), format: format)
        } catch {
            if error.problems.isEmpty { return .broken("rejected with no problem") }
            if let silent = error.problems.first(where: { $0.message.isEmpty }) { return .broken("a problem at \(silent.path) with no message") }
            if wellFormed, let vague = error.problems.first(where: { $0.path == FieldPath.root.description }) {
                return .broken("a well-formed document rejected without naming a field: \(vague)")
            }
            return .rejected
        }
        guard let again = try? Manifest(validating: CanonicalJSON.tree(of: manifest)) else {
            return .broken("accepted, but its encoding is rejected")
        }
        return again == manifest ? .accepted : .broken("accepted, but its encoding reads back differently")
    }

    /// Valid manifests that between them use every section a manifest has.
    static let seeds: [String] = [
        #"{"deployment":{"key":"web"},"agents":[{"id":"web","image":"localhost/web:1"}]}"#,
        """
        {"deployment":{"key":"shop"},
         "agents":[{"id":"api","image":"localhost/api:2","count":3,"args":["serve","--port","8080"],"env":{"MODE":"prod"},
           "ports":[{"name":"http","container_port":8080},{"name":"admin","container_port":9090,"protocol":"tcp"}],
           "health_checks":[{"kind":"http","port":8080,"path":"/health","interval_ms":500,"timeout_ms":300},
                            {"kind":"exec","command":["true"]}],
           "lifecycle":{"stop_signal":"SIGINT","grace_period_ms":2000,"shutdown_delay_ms":500},
           "resources":{"cpu_millis":500,"memory_mb":256,"devices":[{"kind":"gpu","count":1}]},
           "services":[{"name":"shop-api","port":"http","tags":["v2","public"]}],
           "requires_services":[{"name":"db","tags":["primary"],"required":false}],
           "constraints":[{"attribute":"meta.class","operator":"=","value":"app"}]},
          {"id":"worker","exec":"/usr/bin/worker","count":2}],
         "policies":{"update":{"strategy":"canary","max_parallel":2,"canary":1,"min_healthy_ms":1000,
           "healthy_deadline_ms":30000,"progress_deadline_ms":60000,"health_check":"checks","auto_promote":false,"auto_revert":true},
          "restart":{"attempts":3,"interval_ms":60000,"delay_ms":1000,"mode":"delay"},
          "reschedule":{"delay_ms":1000,"max_delay_ms":5000}}}
        """,
        #"{"deployment":{"key":"bg"},"agents":[{"id":"a","image":"i:1","count":2}],"policies":{"update":{"strategy":"blue-green"}}}"#,
    ]

    static let yamlSeed = """
        deployment:
          key: web
        agents:
          - id: web
            image: localhost/web:1
            count: 2
            ports: [{name: http, container_port: 8080}]
            services: [{name: web, port: http}]
        policies:
          update: {strategy: rolling, max_parallel: 1}
        """

    // MARK: - Mutations

    /// Values of every kind, including ones that stress limits.
    static func randomValue(using random: inout SplitMix64) -> JSONValue {
        switch Int.random(in: 0..<14, using: &random) {
        case 0: .null
        case 1: .bool(Bool.random(using: &random))
        case 2: .integer(Int64.random(in: -3...3, using: &random))
        case 3: .integer(Int64.random(in: Int64.min...Int64.max, using: &random))
        case 4: .double(Double.random(in: -1e6...1e6, using: &random))
        case 5: .string("")
        case 6: .string(["web", "a b", "../etc", "x;rm -rf /", "é", "\u{0}", "SIGKILL", "tcp", "rolling", "/bin/true"].randomElement(using: &random)!)
        case 7: .string(String(repeating: "x", count: Int.random(in: 64...300, using: &random)))
        case 8: .array([])
        case 9: .array([.string("x"), .integer(1)])
        case 10: .object([:])
        case 11: .object(["name": .string("http"), "port": .integer(8080)])
        case 12: .integer(Int64.random(in: 0...70_000, using: &random))
        default: .double(1.5)
        }
    }

    /// One change somewhere in `tree`: a value replaced, a field removed, added or renamed,
    /// an array element removed or repeated.
    static func mutate(_ tree: inout JSONValue, using random: inout SplitMix64) {
        switch tree {
        case .object(var fields):
            let keys = fields.keys.sorted()
            let choice = Int.random(in: 0..<10, using: &random)
            if keys.isEmpty || choice == 0 {
                fields[["bogus", "count", "image", "id", "strategy", "max_paralel"].randomElement(using: &random)!] =
                    randomValue(using: &random)
            } else {
                let key = keys.randomElement(using: &random)!
                switch choice {
                case 1: fields[key] = nil
                case 2: fields[key] = randomValue(using: &random)
                case 3:
                    let value = fields.removeValue(forKey: key)
                    fields[key.uppercased() + "_"] = value
                default: mutate(&fields[key]!, using: &random)
                }
            }
            tree = .object(fields)
        case .array(var items):
            let choice = Int.random(in: 0..<8, using: &random)
            if items.isEmpty || choice == 0 {
                items.append(randomValue(using: &random))
            } else {
                let index = Int.random(in: 0..<items.count, using: &random)
                switch choice {
                case 1: items.remove(at: index)
                case 2: items.append(items[index])
                case 3: items[index] = randomValue(using: &random)
                default: mutate(&items[index], using: &random)
                }
            }
            tree = .array(items)
        default:
            tree = randomValue(using: &random)
        }
    }

    /// One byte-level change: a byte flipped, removed, inserted or repeated; the text cut; a
    /// run of bytes invalid as UTF-8 or of structural characters put in.
    static func mutate(bytes: inout [UInt8], using random: inout SplitMix64) {
        guard !bytes.isEmpty else {
            bytes = [UInt8.random(in: 0...255, using: &random)]
            return
        }
        let at = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<7, using: &random) {
        case 0: bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
        case 1: bytes.remove(at: at)
        case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: at)
        case 3: bytes.removeSubrange(at...)
        case 4: bytes.insert(contentsOf: [0xC3, 0x28, 0xFF, 0xFE], at: at)  // not UTF-8
        case 5: bytes.insert(contentsOf: Array(#"{["":,-"#.utf8).shuffled(using: &random), at: at)
        default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + 40)], at: at)
        }
    }
}
