import Testing

@Test func breakGlassLedgerPlaceholder() {}
