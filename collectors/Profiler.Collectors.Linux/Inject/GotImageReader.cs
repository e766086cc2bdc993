using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Reads a file's malloc-family references and definitions (the ELF side of the planner).</summary>
public static class GotImageReader
{
    const string RDebugSymbol = "_r_debug";
    /// <summary>Elf64_Sym: 24 bytes, st_value at offset 8 (ELFCLASS64 only: memprof's targets are x86-64).</summary>
    const ulong SymbolSize = 24, ValueField = 8;

    /// <summary>Null (with the reason) when the file is gone, unreadable or not ELF.</summary>
    public static GotImage? Read(string path, out string? error)
    {
        if (!ElfFile.TryOpen(path, out var elf, out error)) return null;
        using (elf)
        {
            try { return Read(elf); }
            catch (ElfFormatException e) { error = e.Message; return null; }
        }
    }

    public static GotImage Read(ElfFile elf)
    {
        var references = new List<GotReference>();
        foreach (var relocation in elf.ReadDynamicRelocations())
        {
            if (GotFamily.Find(relocation.Symbol.Name) is not { } api) continue;
            if (RelocationKinds.Classify(elf.Machine, relocation.Type, relocation.Addend) is not { } kind) continue;
            if (elf.VirtualAddressToFileOffset(relocation.Offset) is not { } fileOffset) continue;
            references.Add(new GotReference(api, GotFamily.WithoutVersion(relocation.Symbol.Name), relocation.Symbol.Version,
                kind, relocation.Offset, fileOffset));
        }
        // An IFUNC's value is its resolver, not the function a slot is bound to: left out, so a
        // slot bound through one is never mistaken for one bound to something known.
        // Entries come in table order from index 1: the index locates each one's st_value.
        var dynsym = elf.FindSection(".dynsym");
        var dynamic = elf.ReadDynamicSymbols().Select((s, i) => (Symbol: s, Index: (ulong)i + 1))
            .Where(e => e.Symbol.IsDefined && e.Symbol.Binding != ElfSymbolBinding.Local).ToList();
        var exports = dynamic
            .Where(e => e.Symbol.Type == ElfSymbolType.Func && GotFamily.Find(e.Symbol.Name) is not null)
            .Select(e => new GotExport(GotFamily.WithoutVersion(e.Symbol.Name), e.Symbol.Value, e.Symbol.Version is null || !e.Symbol.IsHiddenVersion,
                dynsym is { EntrySize: SymbolSize } ? dynsym.Address + e.Index * SymbolSize + ValueField : null,
                dynsym is { EntrySize: SymbolSize } ? dynsym.Offset + e.Index * SymbolSize + ValueField : null))
            .ToList();
        ulong? rDebug = dynamic.Select(e => e.Symbol).FirstOrDefault(s => s.Name == RDebugSymbol && s.Type == ElfSymbolType.Object)?.Value;
        ulong firstLoad = elf.LoadSegments.Count == 0 ? 0 : elf.LoadSegments.Min(s => s.VirtualAddress) & ~0xfffUL;
        return new GotImage(elf.Path, firstLoad, references, exports, rDebug);
    }
}
