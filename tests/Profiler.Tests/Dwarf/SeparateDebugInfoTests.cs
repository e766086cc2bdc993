using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Resolution;
using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Dwarf;

/// <summary>A stripped program whose symbols and DWARF live in a separate debug file, found by
/// build id, by .gnu_debuglink (beside it, in .debug/, under a debug directory) or in a symbol
/// path, must resolve exactly as the oracles resolve the unstripped original. A debug file that
/// does not match (other build id, wrong CRC) must be refused.</summary>
[Collection(CompiledProgramsCollection.Name)]
public sealed class SeparateDebugInfoTests(CompiledPrograms programs, ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("dwarf-debugfile-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Debug_file_under_a_debug_directory_by_build_id()
    {
        string original = Original();
        string stripped = Strip(original, "bin", debugLink: null);
        string root = Path.Combine(_directory, "debug-root");
        string buildId = BuildId(original);
        KeepOnlyDebug(original, Path.Combine(root, ".build-id", buildId[..2], buildId[2..] + ".debug"));

        AssertResolvesLikeOriginal(stripped, original, new SymbolOptions { DebugDirectories = [root] });
    }

    [Theory]
    [InlineData("beside")]
    [InlineData("dot-debug")]
    [InlineData("debug-directory")]
    public void Debug_file_named_by_the_debug_link(string where)
    {
        string original = Original();
        string debugFile = KeepOnlyDebug(original, Path.Combine(_directory, "staging", "program.debug"));
        string stripped = Strip(original, "bin", debugFile);
        string root = Path.Combine(_directory, "debug-root");
        string binDirectory = Path.GetDirectoryName(stripped)!;
        string target = where switch
        {
            "beside" => Path.Combine(binDirectory, "program.debug"),
            "dot-debug" => Path.Combine(binDirectory, ".debug", "program.debug"),
            _ => Path.Combine(root, binDirectory.TrimStart('/'), "program.debug"),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(debugFile, target);

        AssertResolvesLikeOriginal(stripped, original, new SymbolOptions { DebugDirectories = [root] });
    }

    [Theory]
    [InlineData("debug-link-name")]
    [InlineData("build-id-tree")]
    [InlineData("unstripped-copy")]
    public void Debug_file_in_a_symbol_path(string layout)
    {
        string original = Original();
        string debugFile = KeepOnlyDebug(original, Path.Combine(_directory, "staging", "program.debug"));
        string stripped = Strip(original, "bin", layout == "debug-link-name" ? debugFile : null);
        string symbols = Path.Combine(_directory, "symbols");
        string buildId = BuildId(original);
        string target = layout switch
        {
            "debug-link-name" => Path.Combine(symbols, "program.debug"),
            "build-id-tree" => Path.Combine(symbols, ".build-id", buildId[..2], buildId[2..] + ".debug"),
            _ => Path.Combine(symbols, "program"),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (layout == "unstripped-copy")
            File.Copy(original, target);
        else
            File.Move(debugFile, target);

        AssertResolvesLikeOriginal(stripped, original, new SymbolOptions { SymbolPaths = [symbols], DebugDirectories = [] });
    }

    [Fact]
    public void Without_build_ids_the_debug_link_crc_decides()
    {
        Original();
        string source = programs.Programs[CompiledPrograms.CDwarf5] + ".nobuildid";
        SystemTools.Run("gcc", ["-O2", "-g", "-Wl,--build-id=none", "-o", source, Path.Combine(programs.WorkDirectory, "program.c")]);
        Assert.Null(BuildIdOrNull(source));
        string debugFile = KeepOnlyDebug(source, Path.Combine(_directory, "staging", "program.debug"));
        string stripped = Strip(source, "bin", debugFile);
        string beside = Path.Combine(Path.GetDirectoryName(stripped)!, "program.debug");
        File.Copy(debugFile, beside);
        var noSystemDirectories = new SymbolOptions { DebugDirectories = [] };

        AssertResolvesLikeOriginal(stripped, source, noSystemDirectories);

        // One byte more at the end leaves a valid ELF file with another CRC: it must be refused.
        File.AppendAllText(beside, "x");
        AssertRefused(stripped, noSystemDirectories);
    }

    [Fact]
    public void Debug_file_of_another_build_is_refused()
    {
        string original = Original();
        string other = programs.Programs[CompiledPrograms.CxxDwarf4];
        Assert.NotEqual(BuildId(original), BuildId(other));
        string debugFile = KeepOnlyDebug(original, Path.Combine(_directory, "staging", "program.debug"));
        string stripped = Strip(original, "bin", debugFile);
        // Same name, right place, wrong program.
        KeepOnlyDebug(other, Path.Combine(Path.GetDirectoryName(stripped)!, "program.debug"));

        AssertRefused(stripped, new SymbolOptions { DebugDirectories = [] });
    }

    private string Original()
    {
        SystemTools.Require([.. SymbolizerAgreement.Tools, "objcopy", "strip", "gcc"]);
        string path = programs.Programs[CompiledPrograms.CxxDwarf5];
        return path;
    }

    private void AssertResolvesLikeOriginal(string stripped, string original, SymbolOptions options)
    {
        using (var elf = ElfFile.Open(stripped))
            Assert.False(elf.HasSymtab, "the stripped copy still has its symbols");
        var addresses = SymbolizerAgreement.SampleAddresses(original, 300);
        SymbolizerAgreement.AssertAgree(stripped, addresses, output, options, oraclePath: original);
    }

    private void AssertRefused(string stripped, SymbolOptions options)
    {
        using var resolver = new ElfFrameResolver(options);
        using var elf = ElfFile.Open(stripped);
        var module = new MappedModule(stripped, "", 0, ulong.MaxValue, 0);
        var text = elf.FindSection(".text")!;
        for (ulong address = text.Address; address < text.Address + text.Size; address += 16)
        {
            ulong offset = elf.VirtualAddressToFileOffset(address)!.Value;
            var frames = resolver.Resolve(module, offset, offset);
            Assert.Single(frames);
            Assert.Null(frames[0].File);
        }
        Assert.Contains(resolver.Warnings, w => w.Contains($"names in {Path.GetFileName(stripped)} come from dynamic symbols only"));
    }

    /// <summary>objcopy --only-keep-debug into <paramref name="target"/>.</summary>
    private static string KeepOnlyDebug(string binary, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        SystemTools.Run("objcopy", "--only-keep-debug", binary, target);
        return target;
    }

    /// <summary>A copy named "program" with all symbols and debug sections removed, and a debug
    /// link to <paramref name="debugLink"/> (whose CRC objcopy records) if given.</summary>
    private string Strip(string binary, string subdirectory, string? debugLink)
    {
        string target = Path.Combine(_directory, subdirectory, "program");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        SystemTools.Run("strip", "--strip-all", "-o", target, binary);
        if (debugLink is not null)
            SystemTools.Run("objcopy", $"--add-gnu-debuglink={debugLink}", target);
        return target;
    }

    private static string BuildId(string path) => BuildIdOrNull(path) ?? throw new InvalidOperationException($"{path} has no build id");

    private static string? BuildIdOrNull(string path)
    {
        using var elf = ElfFile.Open(path);
        return elf.BuildId;
    }
}
