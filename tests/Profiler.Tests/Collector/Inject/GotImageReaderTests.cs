using Profiler.Collectors.Linux.Inject;
using Profiler.Tests.Elf;
using Xunit.Abstractions;

namespace Profiler.Tests.Collector.Inject;

/// <summary>The malloc family's slots and definitions of real files, against readelf and nm.</summary>
public sealed class GotImageReaderTests(ITestOutputHelper output)
{
    static readonly string[] Family =
        ["malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
         "mallocx", "rallocx", "xallocx", "sdallocx", "dallocx"];

    public static TheoryData<string> Files() => ElfRelocationTests.Files();

    [Theory]
    [MemberData(nameof(Files))]
    public void Slots_are_readelfs_glob_dat_jump_slot_and_absolute_rows_of_the_family(string file)
    {
        string path = ElfRelocationTests.PathOf(file);
        SystemTools.Require(["readelf", "nm"], path);
        var kinds = new Dictionary<string, SlotKind>
        {
            ["R_X86_64_JUMP_SLOT"] = SlotKind.JumpSlot, ["R_X86_64_GLOB_DAT"] = SlotKind.GlobDat, ["R_X86_64_64"] = SlotKind.DataPointer,
        };
        var expected = Readelf.DynamicRelocations(path)
            .Where(r => Family.Contains(r.Name) && kinds.ContainsKey(r.TypeName) && (r.TypeName != "R_X86_64_64" || r.Addend == 0))
            .Select(r => (r.Name, r.Version, kinds[r.TypeName], r.Offset)).ToList();
        var expectedExports = Nm.DefinedFunctions(path, dynamic: true)
            .Where(f => Family.Contains(f.BaseName))
            .Select(f => (f.BaseName, f.Address, f.Version is null || f.IsDefaultVersion)).Order().ToList();

        var image = GotImageReader.Read(path, out var error) ?? throw new InvalidOperationException(error);

        Assert.Equal(expected, image.References.Select(r => (r.Symbol, r.Version, r.Kind, r.VirtualAddress)));
        Assert.Equal(expectedExports, image.Exports.Select(e => (e.Symbol, e.VirtualAddress, e.IsDefault)).Order());
        Assert.Equal(Readelf.LoadSegments(path).Min(s => s.VirtualAddress) & ~0xfffUL, image.FirstLoadAddress);
        // Each definition's st_value word, read from the file where the reader says it lies,
        // holds the definition's address; its link-time address maps to that file offset.
        var bytes = File.ReadAllBytes(path);
        foreach (var export in image.Exports)
        {
            Assert.True(export is { ValueAddress: not null, ValueFileOffset: not null }, $"{export.Symbol}: no st_value location");
            Assert.Equal(export.VirtualAddress, BitConverter.ToUInt64(bytes, (int)export.ValueFileOffset!.Value));
            var segment = Readelf.LoadSegments(path).Single(s => export.ValueAddress >= s.VirtualAddress && export.ValueAddress < s.VirtualAddress + s.FileSize);
            Assert.Equal(segment.Offset + (export.ValueAddress!.Value - segment.VirtualAddress), export.ValueFileOffset.Value);
        }
        output.WriteLine($"{Path.GetFileName(path)}: {image.References.Count} slots " +
                         $"({string.Join(", ", image.References.GroupBy(r => r.Kind).Select(g => $"{g.Count()} {g.Key}"))}): " +
                         $"{string.Join(" ", image.References.Select(r => r.Symbol))}; defines {image.Exports.Count}");
    }

    [Fact]
    public void The_dynamic_linker_gives_where_its_list_of_loaded_objects_starts()
    {
        const string Loader = "/lib64/ld-linux-x86-64.so.2";
        SystemTools.Require(["nm"], Loader);
        var expected = SystemTools.Lines(SystemTools.Run("nm", "-D", "--defined-only", Loader))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(fields => fields.Length == 3 && fields[2].StartsWith("_r_debug@", StringComparison.Ordinal));

        var image = GotImageReader.Read(Loader, out var error) ?? throw new InvalidOperationException(error);

        Assert.Equal(Readelf.Hex(expected[0]), image.RDebug);
    }
}
