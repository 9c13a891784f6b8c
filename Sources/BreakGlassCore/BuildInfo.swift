/// The product's version, printed by `breakglass --version` and exported as `breakglass_build_info`.
public enum BuildInfo {
    public static let version = "0.3.0"
}
