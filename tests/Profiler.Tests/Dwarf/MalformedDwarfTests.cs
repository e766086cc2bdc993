using System.Buffers.Binary;
using Profiler.Core.Model;
using Profiler.Symbols.Elf;
using Profiler.Symbols.Resolution;
using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Dwarf;

/// <summary>Damaged debug sections (cut short, overwritten, bytes flipped, zlib data broken) must
/// never make the resolver throw: every address still gets a named frame, the function's name
/// still comes from the symbol table, and the damage is reported once as a warning.</summary>
[Collection(CompiledProgramsCollection.Name)]
public sealed class MalformedDwarfTests(CompiledPrograms programs, ITestOutputHelper output) : IDisposable
{
    private static readonly string[] DebugSections =
        [".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str", ".debug_rnglists", ".debug_aranges"];

    private readonly string _directory = Directory.CreateTempSubdirectory("dwarf-malformed-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string, string> Damages()
    {
        var data = new TheoryData<string, string>();
        foreach (var section in DebugSections)
            foreach (var damage in new[] { "size-0", "size-1", "size-7", "half", "all-but-1", "random", "flipped" })
                data.Add(section, damage);
        return data;
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void Damaged_section_costs_lines_but_never_names(string section, string damage)
    {
        string original = Program(CompiledPrograms.CxxDwarf5);
        var bytes = File.ReadAllBytes(original);
        var (headerOffset, dataOffset, size) = SectionHeader(original, section);
        var random = new Random(section.GetHashCode(StringComparison.Ordinal) ^ damage.Length);
        switch (damage)
        {
            case "random":
                random.NextBytes(bytes.AsSpan((int)dataOffset, (int)size));
                break;
            case "flipped":
                for (int i = 0; i < 64; i++)
                    bytes[dataOffset + (ulong)random.NextInt64((long)size)] ^= (byte)(1 << random.Next(8));
                break;
            default:
                ulong newSize = damage switch
                {
                    "size-0" => 0,
                    "size-1" => 1,
                    "size-7" => 7,
                    "half" => size / 2,
                    _ => size - 1,
                };
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)headerOffset + 32), newSize);
                break;
        }
        string damaged = Path.Combine(_directory, $"program{section}-{damage}");
        File.WriteAllBytes(damaged, bytes);

        var warnings = AssertStillNamedFromSymbols(damaged, original);
        if (section == ".debug_info" && damage is "half" or "size-7")
            Assert.Contains(warnings, w => w.Contains("damaged debug information", StringComparison.Ordinal));
    }

    [Fact]
    public void Broken_zlib_stream_in_a_compressed_section_is_reported_and_skipped()
    {
        string original = Program(CompiledPrograms.CxxCompressed);
        var bytes = File.ReadAllBytes(original);
        var (_, dataOffset, size) = SectionHeader(original, ".debug_info");
        // Keep the 24-byte compression header; break the deflate stream after it.
        new Random(7).NextBytes(bytes.AsSpan((int)dataOffset + 24 + 2, (int)size - 26));
        string damaged = Path.Combine(_directory, "program-broken-zlib");
        File.WriteAllBytes(damaged, bytes);

        var warnings = AssertStillNamedFromSymbols(damaged, original);
        Assert.Contains(warnings, w => w.Contains("debug information cannot be read", StringComparison.Ordinal));
    }

    private string Program(string variant)
    {
        SystemTools.Require(["nm"]);
        string path = programs.Programs[variant];
        return path;
    }

    /// <summary>Resolves every fourth byte of the program's functions in the damaged copy: each
    /// address must get frames whose outermost name is the intact program's.</summary>
    private IReadOnlyList<string> AssertStillNamedFromSymbols(string damaged, string original)
    {
        var addresses = Nm.DefinedFunctions(original, dynamic: false).Where(f => f.Size > 0)
            .SelectMany(f => Enumerable.Range(0, (int)f.Size / 4).Select(i => f.Address + (ulong)i * 4)).ToList();
        using var intact = new ElfFrameResolver(new SymbolOptions { DebugDirectories = [] });
        using var resolver = new ElfFrameResolver(new SymbolOptions { DebugDirectories = [] });
        var expected = SymbolizerAgreement.Resolve(intact, original, addresses);
        var actual = SymbolizerAgreement.Resolve(resolver, damaged, addresses);
        int keptLines = 0;
        for (int i = 0; i < addresses.Count; i++)
        {
            Assert.NotEmpty(actual[i].Frames);
            Assert.All(actual[i].Frames, frame => Assert.False(string.IsNullOrEmpty(frame.Function)));
            Assert.Equal(expected[i].Frames[0].Function, actual[i].Frames[0].Function);
            keptLines += actual[i].Frames.Any(f => f.Line is not null) ? 1 : 0;
        }
        var warnings = resolver.Warnings;
        output.WriteLine($"{Path.GetFileName(damaged)}: {addresses.Count} addresses, {keptLines} still with lines; warnings:");
        foreach (var warning in warnings)
            output.WriteLine("  " + warning);
        return warnings;
    }

    /// <summary>Where the section's header and contents lie in the file, and its size.</summary>
    private static (ulong HeaderOffset, ulong DataOffset, ulong Size) SectionHeader(string path, string name)
    {
        using var elf = ElfFile.Open(path);
        var section = elf.FindSection(name) ?? throw new InvalidOperationException($"{path} has no {name}");
        var header = File.ReadAllBytes(path).AsSpan(0, 64);
        ulong table = BinaryPrimitives.ReadUInt64LittleEndian(header[0x28..]);
        ushort entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3a..]);
        return (table + (ulong)section.Index * entrySize, section.Offset, section.Size);
    }
}
