using System.Runtime.InteropServices;
using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Resolution;
using Profiler.Tests.Elf;

namespace Profiler.Tests.Dwarf;

/// <summary>The .NET runtime's own native libraries ship without symbols (libcoreclr.so exports a
/// handful of functions, libclrjit.so two): a frame in one is named by the exported function it
/// lies in (within that symbol's size), else by module and offset, as llvm-symbolizer names them
/// from the same .dynsym. Read from the runtime these tests run on.</summary>
public sealed class DotNetRuntimeSymbolizationTests
{
    [Theory]
    [InlineData("libcoreclr.so")]
    [InlineData("libclrjit.so")]
    public void A_runtime_library_frame_is_named_by_the_exported_function_around_it_else_by_offset(string library)
    {
        SystemTools.Require([LlvmSymbolizer.Tool, "nm"]);
        string path = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), library);
        Assert.True(File.Exists(path), $"the running runtime has no {path}");
        var exported = Nm.DefinedFunctions(path, dynamic: true).Where(f => f.Size > 0).ToList();
        Assert.NotEmpty(exported);

        using var elf = ElfFile.Open(path);
        Assert.False(elf.HasSymtab, $"{library} is expected stripped (it would need no fallback)");
        // Each exported function's first and last byte and the byte after it, and addresses spread
        // over the executable segment (the runtime's internal code, mostly unnamed).
        var addresses = new SortedSet<ulong>();
        foreach (var function in exported)
        {
            addresses.Add(function.Address);
            addresses.Add(function.Address + function.Size - 1);
            addresses.Add(function.Address + function.Size);
        }
        var code = elf.LoadSegments.Single(s => s.Flags.HasFlag(ElfSegmentFlags.Execute));
        for (ulong i = 0; i < 400; i++) addresses.Add(code.VirtualAddress + code.FileSize * i / 400);
        var list = addresses.ToList();
        var oracle = LlvmSymbolizer.Symbolize(path, list);

        using var resolver = new ElfFrameResolver();
        var module = new MappedModule(path, "", 0, ulong.MaxValue, 0);
        var mismatches = new List<string>();
        int named = 0;
        foreach (ulong address in list)
        {
            ulong offset = elf.VirtualAddressToFileOffset(address)!.Value;
            string actual = Assert.Single(resolver.Resolve(module, offset, offset)).Function;
            string oracleName = oracle[address][^1].Function;
            string expected = oracleName == "??" ? $"{library}+0x{address:x}" : oracleName;
            if (oracleName != "??") named++;
            if (actual != expected) mismatches.Add($"0x{address:x}: memprof {actual}, llvm-symbolizer {oracleName}");
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Take(20)));
        // Both kinds were seen: every exported function's bytes are named, the rest is not.
        Assert.True(named >= exported.Count * 2, $"only {named} addresses named for {exported.Count} exported functions");
        Assert.True(list.Count - named > 300, $"only {list.Count - named} addresses left unnamed");
    }
}
