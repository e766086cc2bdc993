using System.Runtime.Versioning;
using Microsoft.Diagnostics.Symbols;
using Profiler.Core.Model;
using Profiler.Symbols.Pe;

namespace Profiler.Symbols.Pdb;

/// <summary>
/// Names addresses in PE images from their PDBs, through TraceEvent's SymbolReader: the PDB
/// beside the image first, then the symbol path (symbol-server syntax, e.g.
/// <c>SRV*C:\symbols*https://msdl.microsoft.com/download/symbols</c>; default: _NT_SYMBOL_PATH).
/// Windows recordings give modules their image base as start and 0 as file offset, so the
/// offset looked up is the RVA. Reading PDBs needs Windows (DIA); elsewhere frames are named by
/// module and RVA, with one warning.
/// </summary>
public sealed class PdbFrameResolver(string? symbolPath = null, TextWriter? log = null) : IFrameResolver, IWarningSource, IDisposable
{
    readonly Dictionary<(string Path, string BuildId), NativeSymbolModule?> _modules = [];
    readonly List<string> _warnings = [];
    SymbolReader? _reader;

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>_NT_SYMBOL_PATH when set, else Microsoft's symbol server with a per-user cache.</summary>
    public static string DefaultSymbolPath =>
        Environment.GetEnvironmentVariable("_NT_SYMBOL_PATH") is { Length: > 0 } path ? path
            : $"SRV*{Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "memprof", "symbols")}" +
              "*https://msdl.microsoft.com/download/symbols";

    public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset)
    {
        if (OperatingSystem.IsWindows() && Load(module) is { } symbols && lookupOffset <= uint.MaxValue)
        {
            uint rva = (uint)lookupOffset;
            uint start = 0;
            string name = symbols.FindNameForRva(rva, ref start);
            if (name.Length > 0)
            {
                var source = symbols.SourceLocationForRva(rva);
                return [new ResolvedFrame(name, module.Path, module.BuildId, fileOffset, source?.SourceFile?.BuildTimeFilePath,
                    source is { LineNumber: > 0 } ? source.LineNumber : null)];
            }
        }
        else if (!OperatingSystem.IsWindows() && _warnings.Count == 0)
        {
            _warnings.Add("PDB symbols can only be read on Windows; frames of Windows modules are shown as module+RVA");
        }
        return [new ResolvedFrame($"{FileName(module.Path)}+0x{fileOffset:x}", module.Path, module.BuildId, fileOffset, null, null)];
    }

    [SupportedOSPlatform("windows")]
    NativeSymbolModule? Load(MappedModule module)
    {
        var key = (module.Path, module.BuildId);
        if (_modules.TryGetValue(key, out var loaded)) return loaded;
        _modules[key] = null;
        _reader ??= new SymbolReader(log ?? TextWriter.Null, symbolPath ?? DefaultSymbolPath)
        {
            // PDBs beside the executable (a local build's) are as trusted as the executable itself.
            SecurityCheck = _ => true,
        };
        string? pdb = FindPdb(module);
        if (pdb is null)
        {
            _warnings.Add($"no PDB found for {module.Path} (looked beside it and on {_reader.SymbolPath}); its frames stay unnamed");
            return null;
        }
        return _modules[key] = _reader.OpenNativeSymbolFile(pdb);
    }

    [SupportedOSPlatform("windows")]
    string? FindPdb(MappedModule module)
    {
        var onDisk = File.Exists(module.Path) ? PeBuildId.Read(module.Path) : null;
        if (!PeBuildId.TryParse(module.BuildId, out var guid, out uint age))
            return onDisk is null ? null : _reader!.FindSymbolFilePathForModule(module.Path);
        if (onDisk is not null && onDisk.BuildId != module.BuildId)
        {
            _warnings.Add($"{module.Path} changed since recording (PDB id {onDisk.BuildId}, recorded {module.BuildId}); looking its PDB up by the recorded id");
            onDisk = null;
        }
        // Symbol servers index by the PDB's file name: the one the image names, else the image's own name.
        string pdbName = onDisk is not null ? FileName(onDisk.PdbPath) : Path.ChangeExtension(FileName(module.Path), ".pdb");
        return _reader!.FindSymbolFilePath(pdbName, guid, (int)age, onDisk is not null ? module.Path : null);
    }

    /// <summary>The file name of a Windows path on any OS (recordings made on Windows may be read elsewhere).</summary>
    static string FileName(string path) => path[(path.LastIndexOfAny(['\\', '/']) + 1)..];

    public void Dispose()
    {
        foreach (var m in _modules.Values) m?.Dispose();
        _modules.Clear();
        _reader?.Dispose();
        _reader = null;
    }
}
