using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Dwarf;

/// <summary>Distribution libraries: glibc, stripped, with its DWARF 5 (compressed) in the
/// separate file Debian's libc6-dbg installs under /usr/lib/debug/.build-id; and the debug build of
/// libstdc++ that libstdc++6-12-dbg installs (DWARF 5 in the library itself).</summary>
public sealed class SystemLibrarySymbolizationTests(ITestOutputHelper output)
{
    private const string DebugLibStdCxxDirectory = "/usr/lib/x86_64-linux-gnu/debug";

    [Fact]
    public void Glibc_resolves_through_its_build_id_debug_file_as_the_oracles_do()
    {
        SystemTools.Require(SymbolizerAgreement.Tools, SystemTools.Libc);
        string? buildId;
        using (var libc = Profiler.Symbols.Elf.ElfFile.Open(SystemTools.Libc))
            buildId = libc.BuildId;
        Assert.NotNull(buildId);
        string debugFile = $"/usr/lib/debug/.build-id/{buildId[..2]}/{buildId[2..]}.debug";
        Assert.True(File.Exists(debugFile), $"{debugFile} is missing: install libc6-dbg (scripts/install-deps.sh)");

        // The oracles read the debug file itself: llvm-symbolizer would otherwise name frames
        // from the stripped library's .dynsym, where memprof uses the debug file's full .symtab.
        var addresses = SymbolizerAgreement.SampleAddresses(debugFile, 500);
        SymbolizerAgreement.AssertAgree(SystemTools.Libc, addresses, output, oraclePath: debugFile);
    }

    [Fact]
    public void Debug_build_of_libstdcxx_agrees_with_the_oracles()
    {
        SystemTools.Require(SymbolizerAgreement.Tools);
        string? library = Directory.Exists(DebugLibStdCxxDirectory)
            ? Directory.GetFiles(DebugLibStdCxxDirectory, "libstdc++.so.6.*").Where(f => !f.EndsWith(".py", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).LastOrDefault()
            : null;
        Assert.True(library is not null,
            $"no {DebugLibStdCxxDirectory}/libstdc++.so.6.*: install libstdc++6-12-dbg (scripts/install-deps.sh)");

        SymbolizerAgreement.AssertAgree(library, SymbolizerAgreement.SampleAddresses(library, 500), output);
    }
}
