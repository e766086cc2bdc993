namespace Profiler.Symbols.Dwarf;

/// <summary>The directories and files of a line program header, numbered as DWARF numbers them:
/// from 1 before DWARF 5 (directory 0 being the compilation directory), from 0 since.</summary>
internal sealed class LineFileTable
{
    private readonly List<string> _directories;
    private readonly List<(string Name, ulong Directory)> _files;
    private readonly string? _compDir;
    private readonly string?[] _paths;

    /// <param name="directories">Indexed by DWARF directory number.</param>
    /// <param name="files">Indexed by DWARF file number (a placeholder at 0 before DWARF 5).</param>
    public LineFileTable(List<string> directories, List<(string Name, ulong Directory)> files, string? compDir)
    {
        _directories = directories;
        _files = files;
        _compDir = string.IsNullOrEmpty(compDir) ? null : compDir;
        _paths = new string?[files.Count];
    }

    /// <summary>The file's full path; null for numbers the table does not define (and for file 0
    /// before DWARF 5, which is not a file).</summary>
    public string? Path(ulong file)
    {
        if (file >= (ulong)_files.Count || _files[(int)file].Name.Length == 0)
            return null;
        // Two threads may build the same path at once; both build the same string.
        return _paths[file] ??= Build(_files[(int)file]);
    }

    private string Build((string Name, ulong Directory) file)
    {
        if (file.Name.StartsWith('/'))
            return file.Name;
        string? directory = file.Directory < (ulong)_directories.Count ? _directories[(int)file.Directory] : null;
        if (string.IsNullOrEmpty(directory))
            directory = _compDir;
        else if (!directory.StartsWith('/') && _compDir is not null)
            directory = _compDir + "/" + directory;
        return directory is null ? file.Name : directory + "/" + file.Name;
    }
}
