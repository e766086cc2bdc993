namespace Profiler.Symbols.Resolution;

/// <summary>Where the resolvers look for symbols: <see cref="ElfFrameResolver"/> for separate debug
/// files, the PDB resolver (Profiler.Symbols.Pdb) for PDBs.</summary>
public sealed record SymbolOptions
{
    public static SymbolOptions Default { get; } = new();

    /// <summary>Extra directories (a --symbol-path list), searched before the system's. Each is
    /// searched by build id (DIR/.build-id/xx/rest.debug), by debug link name (DIR/NAME and
    /// DIR/MODULE-DIRECTORY/NAME), and for a copy of the module under its own file name (DIR/FILE,
    /// DIR/FILE.debug). A file found is used only when its build id or debug link CRC matches.</summary>
    public IReadOnlyList<string> SymbolPaths { get; init; } = [];

    /// <summary>The system's global debug directories (gdb's debug-file-directory), searched by
    /// build id and by debug link below the module's directory.</summary>
    public IReadOnlyList<string> DebugDirectories { get; init; } = ["/usr/lib/debug"];

    /// <summary>Where PDBs of Windows modules are looked for after the image's own directory: a
    /// symbol path in symbol-server syntax (<c>SRV*C:\symbols*https://…</c>); null for
    /// _NT_SYMBOL_PATH, else Microsoft's symbol server.</summary>
    public string? WindowsSymbolPath { get; init; }

    /// <summary>Splits a --symbol-path value: directories separated by ':' (empty parts ignored).</summary>
    public static IReadOnlyList<string> SplitPathList(string value) =>
        value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
