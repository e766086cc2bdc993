using Profiler.Core;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Profiler.Export;
using Profiler.Symbols.Resolution;

namespace Profiler.Cli;

/// <summary>Loads and symbolizes a recording for any command: ELF/DWARF symbols for ELF modules,
/// PDBs for PE images (Windows), both searching the user's --symbol-path first.</summary>
static class RecordingInput
{
    /// <param name="streamEvents">For commands that only aggregate the events: see <see cref="RecordingLoader.Load"/>.</param>
    public static ProfileModel Load(string path, TextWriter stderr, string? symbolPath, Action<RawRecording>? inspect = null,
        bool streamEvents = false)
    {
        var symbols = new SymbolOptions
        {
            SymbolPaths = symbolPath is null ? [] : SymbolOptions.SplitPathList(symbolPath),
            WindowsSymbolPath = symbolPath,
        };
        return RecordingLoader.Load(path, stderr, symbols, inspect, streamEvents);
    }

    /// <summary>For a verdict (check, diff): a recording cut short or damaged could pass falsely —
    /// its missing part may hold the leak or the growth — so it is refused with its own exit code
    /// unless the user asks to judge what it holds.</summary>
    public static ProfileModel LoadForVerdict(string path, TextWriter stderr, string? symbolPath, bool allowIncomplete) =>
        Load(path, stderr, symbolPath, raw =>
        {
            if (raw.Integrity.Complete) return;
            if (!allowIncomplete)
                throw new ProfilerException(ExitCode.IncompleteRecording,
                    $"{path} {raw.Integrity.Describe()}: its figures may be missing what broke a budget; " +
                    "no verdict is given (--allow-incomplete judges what it holds)");
            stderr.WriteLine($"memprof: warning: {path} {raw.Integrity.Describe()}; judged as it is (--allow-incomplete)");
        }, streamEvents: true);

    public static System.CommandLine.Option<bool> AllowIncompleteOption() => new("--allow-incomplete")
    {
        Description = $"Give a verdict on a recording that is cut short (no end marker) or has damaged records, from what it " +
                      $"holds; without it such a recording exits {(int)ExitCode.IncompleteRecording}, since its missing part could hide a failure.",
    };

    public static System.CommandLine.Option<string?> SymbolPathOption() => new("--symbol-path")
    {
        Description = "Directories with debug files, searched first (separated by ':'): by build id (DIR/.build-id/xx/…debug), " +
                      "by debug link name and by file name; on Windows a symbol path (srv*CACHE*SERVER syntax).",
    };
}
