using Profiler.Symbols.Elf;

namespace Profiler.Tests.Elf;

/// <summary>Lookup and alias rules of <see cref="SymbolTable"/> on hand-made symbols.</summary>
public sealed class SymbolTableTests
{
    private const uint TextIndex = 1;
    private const uint OtherTextIndex = 2;

    private static readonly ElfSection[] Sections =
    [
        new(0, "", ElfSectionType.Null, ElfSectionFlags.None, 0, 0, 0, 0, 0, 0, 0),
        new(1, ".text", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.ExecInstr,
            0x1000, 0x1000, 0x1000, 0, 0, 16, 0),
        new(2, ".text.other", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.ExecInstr,
            0x3000, 0x3000, 0x100, 0, 0, 16, 0),
    ];

    [Fact]
    public void Address_past_the_end_of_a_sized_function_is_not_in_it()
    {
        var table = Table(Function("first", 0x1000, 0x10), Function("second", 0x1040, 0x10));

        Assert.True(table.TryLookup(0x100f, out var last));
        Assert.Equal(new SymbolHit("first", 0x1000, 0x10, 0xf), last);
        Assert.False(table.TryLookup(0x1010, out _));
        Assert.False(table.TryLookup(0xfff, out _));
        Assert.False(table.TryLookup(0x1050, out _));
    }

    [Fact]
    public void Unsized_function_reaches_up_to_the_next_function()
    {
        var table = Table(Function("unsized", 0x1000, 0), Function("next", 0x1040, 0x10));

        Assert.True(table.TryLookup(0x103f, out var hit));
        Assert.Equal(new SymbolHit("unsized", 0x1000, 0x40, 0x3f), hit);
        Assert.True(table.TryLookup(0x1040, out var next));
        Assert.Equal("next", next.Name);
    }

    [Fact]
    public void Unsized_function_stops_at_the_end_of_its_section()
    {
        var table = Table(Function("last_in_text", 0x1ff0, 0), Function("in_other_section", 0x3000, 0x10, OtherTextIndex));

        Assert.True(table.TryLookup(0x1fff, out var hit));
        Assert.Equal(new SymbolHit("last_in_text", 0x1ff0, 0x10, 0xf), hit);
        Assert.False(table.TryLookup(0x2000, out _));
        Assert.False(table.TryLookup(0x2fff, out _));
    }

    [Fact]
    public void Unsized_function_outside_any_known_section_covers_only_its_own_address()
    {
        var table = Table(Function("absolute", 0x9000, 0, sectionIndex: 0xfff1), Function("later", 0x9100, 0x10));

        Assert.True(table.TryLookup(0x9000, out _));
        Assert.False(table.TryLookup(0x9001, out _));
    }

    [Fact]
    public void Function_enclosing_a_smaller_one_is_found_after_the_smaller_one_ends()
    {
        var table = Table(Function("outer", 0x1000, 0x100), Function("inner", 0x1010, 0x10));

        Assert.True(table.TryLookup(0x1018, out var inner));
        Assert.Equal("inner", inner.Name);
        Assert.True(table.TryLookup(0x1020, out var outer));
        Assert.Equal(new SymbolHit("outer", 0x1000, 0x100, 0x20), outer);
    }

    [Theory]
    [InlineData(ElfSymbolBinding.Weak, ElfSymbolBinding.Global, "b")]
    [InlineData(ElfSymbolBinding.Local, ElfSymbolBinding.Weak, "b")]
    [InlineData(ElfSymbolBinding.Global, ElfSymbolBinding.Local, "a")]
    public void Alias_with_the_strongest_binding_names_the_address(ElfSymbolBinding a, ElfSymbolBinding b, string winner)
    {
        var table = Table(Function("a", 0x1000, 0x10, binding: a), Function("b", 0x1000, 0x10, binding: b));

        Assert.True(table.TryLookup(0x1000, out var hit));
        Assert.Equal(winner, hit.Name);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Among_equally_bound_aliases_the_unversioned_then_shortest_name_wins_whatever_the_order()
    {
        ElfSymbol[] aliases =
        [
            Function("memcpy@GLIBC_2.2.5", 0x1000, 0x10),
            Function("__memcpy_impl", 0x1000, 0x10),
            Function("memcpy_b", 0x1000, 0x10),
            Function("memcpy_a", 0x1000, 0x10),
        ];

        foreach (var order in new[] { aliases, aliases.Reverse().ToArray() })
        {
            Assert.True(Table(order).TryLookup(0x1000, out var hit));
            Assert.Equal("memcpy_a", hit.Name);
        }
    }

    [Fact]
    public void Default_version_suffix_is_not_part_of_the_shown_name()
    {
        var table = Table(Function("malloc@@GLIBC_2.2.5", 0x1000, 0x10), Function("old@GLIBC_2.0", 0x1100, 0x10));

        Assert.True(table.TryLookup(0x1000, out var current));
        Assert.Equal("malloc", current.Name);
        Assert.True(table.TryLookup(0x1100, out var compatibility));
        Assert.Equal("old@GLIBC_2.0", compatibility.Name);
    }

    [Fact]
    public void Unsized_preferred_alias_takes_the_size_of_a_sized_one()
    {
        var table = Table(Function("name", 0x1000, 0), Function("longer_name", 0x1000, 0x20), Function("next", 0x1100, 4));

        Assert.True(table.TryLookup(0x101f, out var hit));
        Assert.Equal(new SymbolHit("name", 0x1000, 0x20, 0x1f), hit);
        Assert.False(table.TryLookup(0x1020, out _));
    }

    [Fact]
    public void Only_defined_functions_are_in_the_table()
    {
        var table = Table(
            Function("imported", 0, 0, sectionIndex: 0),
            new ElfSymbol("data", 0x1000, 0x10, ElfSymbolType.Object, ElfSymbolBinding.Global, TextIndex, false),
            Function("resolver", 0x1100, 0x10, type: ElfSymbolType.IFunc));

        Assert.Equal(1, table.Count);
        Assert.False(table.TryLookup(0x1000, out _));
        Assert.True(table.TryLookup(0x1100, out _));
    }

    [Fact]
    public void FindFunctions_matches_names_with_and_without_version()
    {
        var table = Table(
            Function("malloc@@GLIBC_2.2.5", 0x1000, 0x10),
            Function("free", 0x1100, 0x10, dynamic: true, version: "GLIBC_2.2.5"),
            Function("calloc", 0x1200, 0x10));

        Assert.Equal(
            [("malloc", 0x1000UL), ("free@@GLIBC_2.2.5", 0x1100UL), ("calloc", 0x1200UL)],
            table.FindFunctions(["malloc", "free@@GLIBC_2.2.5", "calloc", "absent"]));
    }

    [Fact]
    public void FindFunctions_lists_every_version_default_first_and_ignores_same_named_locals()
    {
        var table = Table(
            Function("memcpy", 0x1000, 0x10, dynamic: true, version: "GLIBC_2.2.5", hidden: true),
            Function("memcpy", 0x1100, 0x10, dynamic: true, version: "GLIBC_2.14"),
            Function("memcpy", 0x1200, 0x10, binding: ElfSymbolBinding.Local),
            Function("helper", 0x1300, 0x10, binding: ElfSymbolBinding.Local));

        Assert.Equal([("memcpy", 0x1100UL), ("memcpy", 0x1000UL), ("helper", 0x1300UL)],
            table.FindFunctions(["memcpy", "helper"]));
    }

    private static SymbolTable Table(params ElfSymbol[] symbols) => new(symbols, Sections);

    private static ElfSymbol Function(string name, ulong address, ulong size, uint sectionIndex = TextIndex,
        ElfSymbolBinding binding = ElfSymbolBinding.Global, ElfSymbolType type = ElfSymbolType.Func,
        bool dynamic = false, string? version = null, bool hidden = false) =>
        new(name, address, size, type, binding, sectionIndex, dynamic, version, hidden);
}
