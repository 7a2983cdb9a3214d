/// A value held by reference and never changed in place: copying what holds it costs one
/// reference count instead of a copy of every field (plans over many instances copy a lot).
/// A change makes a new one. Equal when the values are.
final class Shared<Value: Hashable & Sendable>: Hashable, Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }

    /// A new box holding the value with `change` made (this one is never changed).
    func changing(_ change: (inout Value) -> Void) -> Shared {
        var value = value
        change(&value)
        return Shared(value)
    }

    static func == (lhs: Shared, rhs: Shared) -> Bool { lhs === rhs || lhs.value == rhs.value }

    func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
