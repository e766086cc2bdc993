using Profiler.Core.Model;
using Profiler.Symbols.Demangling;
using Profiler.Symbols.Elf;

namespace Profiler.Symbols.Resolution;

/// <summary>
/// Names addresses from the ELF files on this machine: .symtab, else .dynsym, demangled.
/// A file whose build id differs from the recorded one is not used (it was rebuilt or replaced
/// since recording); its frames are named by module and offset instead.
/// </summary>
public sealed class ElfFrameResolver : IFrameResolver, IDisposable
{
    readonly Dictionary<(string Path, string BuildId), LoadedModule?> _modules = [];
    readonly List<string> _warnings = [];

    readonly SortedSet<string> _stripped = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Warnings =>
        _stripped.Count == 0 ? _warnings
            : [.. _warnings, $"names in {string.Join(", ", _stripped)} come from dynamic symbols only (stripped; no debug symbols found)"];

    public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset)
    {
        var loaded = Load(module);
        if (loaded is not null && loaded.Elf.FileOffsetToVirtualAddress(lookupOffset) is { } vaddr)
        {
            ulong address = loaded.Elf.FileOffsetToVirtualAddress(fileOffset) ?? vaddr;
            if (loaded.Symbols.TryLookup(vaddr, out var hit))
                return [new ResolvedFrame(loaded.Demangled(hit.Name), module.Path, module.BuildId, address, null, null)];
            return [new ResolvedFrame($"{Path.GetFileName(module.Path)}+0x{address:x}", module.Path, module.BuildId, address, null, null)];
        }
        return [new ResolvedFrame($"{Path.GetFileName(module.Path)}+0x{fileOffset:x}", module.Path, module.BuildId, fileOffset, null, null)];
    }

    LoadedModule? Load(MappedModule module)
    {
        var key = (module.Path, module.BuildId);
        if (_modules.TryGetValue(key, out var loaded)) return loaded;
        loaded = null;
        if (ElfFile.TryOpen(module.Path, out var elf, out var error) && elf is not null)
        {
            if (module.BuildId.Length > 0 && elf.BuildId is { } id && id != module.BuildId)
            {
                _warnings.Add($"{module.Path} changed since recording (build id {id}, recorded {module.BuildId}); its frames stay unnamed");
                elf.Dispose();
            }
            else
            {
                if (!elf.HasSymtab) _stripped.Add(Path.GetFileName(module.Path));
                loaded = new LoadedModule(elf, SymbolTable.Create(elf));
            }
        }
        else
        {
            _warnings.Add($"{module.Path}: {error ?? "cannot be read"}; its frames stay unnamed");
        }
        _modules[key] = loaded;
        return loaded;
    }

    public void Dispose()
    {
        foreach (var m in _modules.Values) m?.Elf.Dispose();
        _modules.Clear();
    }

    sealed class LoadedModule(ElfFile elf, SymbolTable symbols)
    {
        readonly Dictionary<string, string> _demangled = [];
        public ElfFile Elf { get; } = elf;
        public SymbolTable Symbols { get; } = symbols;

        public string Demangled(string name)
        {
            if (_demangled.TryGetValue(name, out var d)) return d;
            int at = name.IndexOf('@');
            string bare = at > 0 ? name[..at] : name;
            return _demangled[name] = Demangler.Demangle(bare);
        }
    }
}
