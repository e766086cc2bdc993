using System.Buffers.Binary;
using Profiler.Symbols.Elf;

namespace Profiler.Tests.Elf;

/// <summary>Separate debug files, as the symbolizer finds them by build id or debug link: their
/// allocated sections are NOBITS, yet their .symtab must resolve the original's addresses.</summary>
[Collection(TestProgramCollection.Name)]
public sealed class SeparateDebugFileTests(TestProgram programs)
{
    [Fact]
    public void Debug_file_resolves_the_original_programs_functions()
    {
        string path = ElfInputs.Resolve(ElfInputs.Program, programs, "objcopy", "nm");
        string debugFile = KeepOnlyDebug(path, "program.debug");
        using var original = ElfFile.Open(path);
        using var debug = ElfFile.Open(debugFile);
        var table = SymbolTable.Create(debug);

        Assert.Equal(original.BuildId, debug.BuildId);
        Assert.True(debug.HasSymtab);
        var text = debug.FindSection(".text")!;
        Assert.Equal(ElfSectionType.NoBits, text.Type);
        Assert.Equal(0, debug.ReadSection(text).Length);
        foreach (var function in Nm.DefinedFunctions(path, dynamic: false))
        {
            Assert.True(table.TryLookup(function.Address, out var hit), function.Name);
            Assert.Equal(function.Address, hit.Start);
        }
    }

    [Fact]
    public void Program_headers_pointing_past_the_end_do_not_prevent_opening()
    {
        string path = ElfInputs.Resolve(ElfInputs.Program, programs, "objcopy");
        // eu-strip copies the original's program headers into the debug file unchanged.
        string debugFile = KeepOnlyDebug(path, "program-original-headers.debug");
        var bytes = File.ReadAllBytes(debugFile);
        int load = FirstLoadHeader(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(load + 32), (ulong)bytes.Length * 4);
        File.WriteAllBytes(debugFile, bytes);

        using var debug = ElfFile.Open(debugFile);
        Assert.Equal((ulong)bytes.Length * 4, debug.LoadSegments[0].FileSize);
        Assert.NotNull(debug.BuildId);
    }

    private string KeepOnlyDebug(string path, string name)
    {
        string debugFile = Path.Combine(programs.WorkDirectory, name);
        SystemTools.Run("objcopy", "--only-keep-debug", path, debugFile);
        return debugFile;
    }

    private static int FirstLoadHeader(byte[] elf)
    {
        const uint Load = 1;
        int table = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(32));
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(54));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(56));
        return Enumerable.Range(0, count).Select(i => table + i * entrySize)
            .First(entry => BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(entry)) == Load);
    }
}
