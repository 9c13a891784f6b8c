import Testing

@Test func corePlaceholder() {}
