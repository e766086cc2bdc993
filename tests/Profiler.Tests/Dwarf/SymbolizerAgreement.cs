using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Resolution;
using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Dwarf;

/// <summary>Resolves a sample of addresses of one binary with <see cref="ElfFrameResolver"/> and
/// checks each against the oracles: every frame of the inline chain (function, file, line) must
/// equal addr2line's or llvm-symbolizer's. They differ in how they name frames: addr2line takes
/// names from DWARF, but replaces the innermost one by the symbol table's when DWARF has no
/// linkage name; llvm-symbolizer (like memprof) names the outermost frame from the symbol table.</summary>
internal static class SymbolizerAgreement
{
    public static string[] Tools => [Addr2Line.Tool, LlvmSymbolizer.Tool, OracleDemangler.Tool, "nm"];

    /// <summary><paramref name="count"/> addresses spread over the functions of
    /// <paramref name="symbolFile"/> (nm's list; the binary itself or its debug file), at random
    /// offsets inside them, a fixed seed making every run pick the same ones.</summary>
    public static List<ulong> SampleAddresses(string symbolFile, int count, int seed = 20240601)
    {
        var functions = Nm.DefinedFunctions(symbolFile, dynamic: false).Where(f => f.Size > 0)
            .DistinctBy(f => f.Address).OrderBy(f => f.Address).ToList();
        Assert.True(functions.Count > 0, $"nm lists no sized functions in {symbolFile}");
        var random = new Random(seed);
        var addresses = new SortedSet<ulong>();
        for (int attempt = 0; addresses.Count < count && attempt < count * 4; attempt++)
        {
            var function = functions[random.Next(functions.Count)];
            addresses.Add(function.Address + (ulong)random.NextInt64((long)function.Size));
        }
        return [.. addresses];
    }

    public static List<(ulong Address, OracleFrame[] Frames)> Resolve(ElfFrameResolver resolver, string path, IEnumerable<ulong> addresses)
    {
        using var elf = ElfFile.Open(path);
        var module = new MappedModule(path, "", 0, ulong.MaxValue, 0);
        var result = new List<(ulong, OracleFrame[])>();
        foreach (ulong address in addresses)
        {
            ulong offset = elf.VirtualAddressToFileOffset(address)
                ?? throw new InvalidOperationException($"0x{address:x} is not in a loaded segment of {path}");
            var frames = resolver.Resolve(module, offset, offset);
            result.Add((address, [.. frames.Select(f => new OracleFrame(f.Function, f.File, f.Line))]));
        }
        return result;
    }

    /// <summary>Fails with the disagreeing addresses (first few in full) unless every one agrees
    /// with one oracle or the other.</summary>
    /// <param name="path">The file memprof resolves.</param>
    /// <param name="oraclePath">The file the oracles read, when not the same (an unstripped twin).</param>
    /// <param name="expectDebugInfo">Whether most addresses must come out with source lines and
    /// some inside inlined calls (false: there must be none).</param>
    public static void AssertAgree(string path, IReadOnlyList<ulong> addresses, ITestOutputHelper output,
        SymbolOptions? options = null, string? oraclePath = null, bool expectDebugInfo = true)
    {
        using var resolver = new ElfFrameResolver(options ?? SymbolOptions.Default);
        var ours = Resolve(resolver, path, addresses);
        var gnu = Addr2Line.Symbolize(oraclePath ?? path, addresses);
        var llvm = LlvmSymbolizer.Symbolize(oraclePath ?? path, addresses);
        var names = new FunctionNames(oraclePath ?? path);
        var disagreements = new List<string>();
        var undemangled = new SortedSet<string>(StringComparer.Ordinal);
        int inlined = 0, withLines = 0, asAddr2Line = 0, asLlvm = 0;
        foreach (var (address, frames) in ours)
        {
            var byGnu = gnu[address];
            var byLlvm = llvm[address];
            if (frames.Length > 1)
                inlined++;
            if (frames.Any(f => f.Line is not null))
                withLines++;
            bool sameAsGnu = SameFrames(frames, byGnu, names), sameAsLlvm = SameFrames(frames, byLlvm, names);
            asAddr2Line += sameAsGnu ? 1 : 0;
            asLlvm += sameAsLlvm ? 1 : 0;
            if (sameAsGnu || sameAsLlvm)
                continue;
            disagreements.Add($"0x{address:x}:\n  ours:            {Describe(frames)}\n  addr2line:       {Describe(byGnu)}" +
                $"\n  llvm-symbolizer: {Describe(byLlvm)}");
        }
        output.WriteLine($"{path}: {addresses.Count} addresses, {withLines} with source lines, {inlined} inside inlined calls; " +
            $"{asAddr2Line} as addr2line, {asLlvm} as llvm-symbolizer, {disagreements.Count} disagreeing with both");
        foreach (var disagreement in disagreements.Take(15))
            output.WriteLine(disagreement);
        Assert.True(disagreements.Count == 0,
            $"{disagreements.Count} of {addresses.Count} addresses disagree with both oracles; first:\n{string.Join("\n", disagreements.Take(5))}");
        // Guards against a vacuous pass: the samples must exercise lines and inlining, or lack both.
        if (expectDebugInfo)
        {
            Assert.True(withLines > addresses.Count / 2, $"only {withLines} of {addresses.Count} addresses have source lines");
            Assert.True(inlined > 0, "no sampled address lies inside an inlined call");
        }
        else
        {
            Assert.Equal(0, withLines + inlined);
        }
    }

    /// <summary>Frame by frame equality, with two allowances. Where the oracle knows no line, the
    /// file it prints is its own guess (the nearest STT_FILE symbol, an object file name such as
    /// "crate.hash-cgu.0"), for which memprof reports no file. And the outermost frame, named from
    /// the symbol table, may carry any alias of the function's symbol (the oracles and memprof
    /// choose among a glibc function's several names differently).</summary>
    private static bool SameFrames(OracleFrame[] ours, List<OracleFrame> oracle, FunctionNames names)
    {
        if (ours.Length != oracle.Count)
            return false;
        for (int i = 0; i < ours.Length; i++)
        {
            var (mine, theirs) = (ours[i], oracle[i]);
            bool sameFunction = mine.Function == theirs.Function || (i == 0 && names.AreAliases(mine.Function, theirs.Function));
            bool sameFile = mine.File == theirs.File || (theirs.Line is null && mine.File is null);
            if (!sameFunction || !sameFile || mine.Line != theirs.Line)
                return false;
        }
        return true;
    }

    private static string Describe(IEnumerable<OracleFrame> frames) => string.Join(" > ", frames);

    /// <summary>The demangled names nm lists for each function address: names sharing an address
    /// are aliases.</summary>
    private sealed class FunctionNames
    {
        private readonly Dictionary<string, HashSet<ulong>> _addressesByName = [];

        public FunctionNames(string path)
        {
            var functions = Nm.DefinedFunctions(path, dynamic: false);
            var demangled = OracleDemangler.Demangle(functions.ConvertAll(f => f.BaseName));
            for (int i = 0; i < functions.Count; i++)
            {
                if (!_addressesByName.TryGetValue(demangled[i], out var addresses))
                    _addressesByName[demangled[i]] = addresses = [];
                addresses.Add(functions[i].Address);
            }
        }

        public bool AreAliases(string a, string b) =>
            _addressesByName.TryGetValue(a, out var first) && _addressesByName.TryGetValue(b, out var second) &&
            first.Overlaps(second);
    }
}
