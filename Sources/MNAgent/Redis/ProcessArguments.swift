#if canImport(Glibc)
    import Glibc
#endif

/// The process's own command line as other users see it (`ps`, `/proc/PID/cmdline`).
public enum ProcessArguments {
    /// Overwrites, in the process's argument memory, the password of every URL argument
    /// (`scheme://[user]:PASSWORD@…`) with `*`, so that `ps` shows `redis://:******@host`.
    /// Read `CommandLine.arguments` before calling this: Swift keeps its own copy of them.
    /// Returns whether an argument held a password (the caller may say that an environment
    /// variable, which other users cannot read, is the safer place for it).
    @discardableResult
    public static func hidePasswords() -> Bool {
        _ = CommandLine.arguments  // Swift's copy, taken before the bytes change
        var found = false
        for index in 0..<Int(CommandLine.argc) where index > 0 {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = UnsafeMutableBufferPointer(
                start: UnsafeMutableRawPointer(argument).assumingMemoryBound(to: UInt8.self), count: strlen(argument))
            if let range = passwordRange(in: Array(bytes)) {
                for offset in range { bytes[offset] = UInt8(ascii: "*") }
                found = true
            }
        }
        return found
    }

    /// Where the password of a `scheme://[user]:password@…` URL lies in `bytes` (the argument
    /// may be `--redis=URL`), if it has one.
    public static func passwordRange(in bytes: [UInt8]) -> Range<Int>? {
        let colon = UInt8(ascii: ":"), slash = UInt8(ascii: "/"), at = UInt8(ascii: "@")
        guard bytes.count > 3,
            let scheme = (0..<(bytes.count - 2)).first(where: { bytes[$0] == colon && bytes[$0 + 1] == slash && bytes[$0 + 2] == slash })
        else { return nil }
        let authority = scheme + 3
        // The user info ends at the last '@' before the path; its password follows its first ':'.
        let path = bytes[authority...].firstIndex(of: slash) ?? bytes.count
        guard let end = bytes[authority..<path].lastIndex(of: at),
            let start = bytes[authority..<end].firstIndex(of: colon), start + 1 < end
        else { return nil }
        return (start + 1)..<end
    }
}
