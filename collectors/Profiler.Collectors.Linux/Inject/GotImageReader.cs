using Profiler.Symbols.Elf;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Reads a file's malloc-family references and definitions (the ELF side of the planner).</summary>
public static class GotImageReader
{
    const string RDebugSymbol = "_r_debug";

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
        var dynamic = elf.ReadDynamicSymbols().Where(s => s.IsDefined && s.Binding != ElfSymbolBinding.Local).ToList();
        var exports = dynamic
            .Where(s => s.Type == ElfSymbolType.Func && GotFamily.Find(s.Name) is not null)
            .Select(s => new GotExport(GotFamily.WithoutVersion(s.Name), s.Value, s.Version is null || !s.IsHiddenVersion))
            .ToList();
        ulong? rDebug = dynamic.FirstOrDefault(s => s.Name == RDebugSymbol && s.Type == ElfSymbolType.Object)?.Value;
        ulong firstLoad = elf.LoadSegments.Count == 0 ? 0 : elf.LoadSegments.Min(s => s.VirtualAddress) & ~0xfffUL;
        return new GotImage(elf.Path, firstLoad, references, exports, rDebug);
    }
}
