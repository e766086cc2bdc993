namespace Profiler.Tests.Dwarf;

/// <summary>One frame as an external symbolizer prints it: null file or line where it prints "??"
/// or "?" (or line 0).</summary>
public sealed record OracleFrame(string Function, string? File, int? Line)
{
    public override string ToString() => $"{Function} @ {File ?? "??"}:{Line?.ToString() ?? "?"}";

    /// <summary>Splits "FILE:LINE" (GNU style, maybe with " (discriminator N)") or
    /// "FILE:LINE:COLUMN" (LLVM style).</summary>
    public static OracleFrame Parse(string function, string location, bool hasColumn)
    {
        int discriminator = location.IndexOf(" (discriminator ", StringComparison.Ordinal);
        if (discriminator >= 0)
            location = location[..discriminator];
        if (hasColumn)
            location = location[..location.LastIndexOf(':')];
        int colon = location.LastIndexOf(':');
        string file = location[..colon];
        string line = location[(colon + 1)..];
        return new OracleFrame(function,
            file == "??" ? null : file,
            int.TryParse(line, out int number) && number > 0 ? number : null);
    }
}
