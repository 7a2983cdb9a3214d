/// A value held by reference and never changed in place: copying what holds it costs one
/// reference count instead of a copy of every field (plans over many instances copy a lot).
/// A change makes a new one. Equal when the values are.
final class Shared<Value: Hashable & Sendable>: Hashable, Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }

    static func == (lhs: Shared, rhs: Shared) -> Bool { lhs === rhs || lhs.value == rhs.value }

    func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
