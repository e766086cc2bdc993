using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Probes;

/// <summary>Tells whether a binary's own code keeps frame pointers, from its functions' prologues
/// (`push %rbp; mov %rsp,%rbp`, after an optional endbr64). Rust's standard library is shipped
/// with frame pointers whatever the program's own settings, so its functions are left out.</summary>
public static partial class FramePointerDetector
{
    const int SampleFunctions = 400;

    static readonly HashSet<string> RustRuntimeCrates =
    [
        "std", "core", "alloc", "compiler_builtins", "panic_unwind", "panic_abort", "hashbrown", "gimli",
        "addr2line", "object", "miniz_oxide", "rustc_demangle", "std_detect", "memchr", "adler", "adler2", "unwind",
    ];

    /// <summary>Rust symbols name their crate first: legacy _ZN3std2io…, v0 …C&lt;disambiguator&gt;3std…
    /// (std itself uses v0).</summary>
    static bool IsRustRuntime(string name)
    {
        if (name.StartsWith("__rust", StringComparison.Ordinal)) return true;
        var crate = name.StartsWith("_ZN", StringComparison.Ordinal) ? LegacyCrate().Match(name)
            : name.StartsWith("_R", StringComparison.Ordinal) ? V0Crate().Match(name) : null;
        if (crate is not { Success: true }) return false;
        int length = int.Parse(crate.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int start = crate.Groups[1].Index + crate.Groups[1].Length;
        return start + length <= name.Length && RustRuntimeCrates.Contains(name.Substring(start, length));
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^_ZN(\d+)")]
    private static partial System.Text.RegularExpressions.Regex LegacyCrate();

    [System.Text.RegularExpressions.GeneratedRegex(@"C(?:s[0-9A-Za-z]*_)?(\d+)")]
    private static partial System.Text.RegularExpressions.Regex V0Crate();

    /// <returns>The share of sampled functions that set up a frame pointer, or null when the
    /// file has no function symbols to look at.</returns>
    public static double? Share(string path)
    {
        if (!ElfFile.TryOpen(path, out var elf, out _) || elf is null) return null;
        using (elf)
        using (var file = File.OpenRead(path))
        {
            var functions = elf.ReadSymbols()
                .Where(s => s.IsDefined && s.Type == ElfSymbolType.Func && s.Size >= 32 && !IsRustRuntime(s.Name))
                .Select(s => s.Value).Distinct().OrderBy(v => v).ToList();
            if (functions.Count == 0) return null;
            int step = Math.Max(1, functions.Count / SampleFunctions), sampled = 0, withFramePointer = 0;
            var code = new byte[8];
            for (int i = 0; i < functions.Count; i += step)
            {
                if (elf.VirtualAddressToFileOffset(functions[i]) is not { } offset) continue;
                file.Position = (long)offset;
                if (file.ReadAtLeast(code, code.Length, throwOnEndOfStream: false) < code.Length) continue;
                sampled++;
                if (SetsUpFramePointer(code)) withFramePointer++;
            }
            return sampled == 0 ? null : (double)withFramePointer / sampled;
        }
    }

    public static bool SetsUpFramePointer(ReadOnlySpan<byte> code)
    {
        if (code.StartsWith((ReadOnlySpan<byte>)[0xf3, 0x0f, 0x1e, 0xfa])) code = code[4..]; // endbr64
        return code.StartsWith((ReadOnlySpan<byte>)[0x55, 0x48, 0x89, 0xe5]);                 // push %rbp; mov %rsp,%rbp
    }
}
