public enum BreakGlassCoreVersion { public static let contract = 1 }
