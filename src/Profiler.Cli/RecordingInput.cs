using Profiler.Collectors.Windows;
using Profiler.Core.Model;
using Profiler.Export;
using Profiler.Symbols.Resolution;

namespace Profiler.Cli;

/// <summary>Loads and symbolizes a recording for any command: ELF/DWARF symbols for Linux
/// recordings, PDBs for Windows ones, both searching the user's --symbol-path first.</summary>
static class RecordingInput
{
    public static ProfileModel Load(string path, TextWriter stderr, string? symbolPath)
    {
        var symbols = new SymbolOptions { SymbolPaths = symbolPath is null ? [] : SymbolOptions.SplitPathList(symbolPath) };
        return RecordingLoader.Load(path, stderr, symbols,
            raw => raw.Header.Collector == WindowsRecordSession.Collector ? new PdbFrameResolver(symbolPath) : null);
    }

    public static System.CommandLine.Option<string?> SymbolPathOption() => new("--symbol-path")
    {
        Description = "Directories with debug files, searched first (separated by ':'): by build id (DIR/.build-id/xx/…debug), " +
                      "by debug link name and by file name; on Windows a symbol path (srv*CACHE*SERVER syntax).",
    };
}
