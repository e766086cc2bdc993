using System.CommandLine;
using System.Diagnostics;
using Profiler.Core;
using Profiler.Export;
using Profiler.Export.Checks;

namespace Profiler.Cli.Commands;

public sealed record OpenOptions(string Input, bool NoOpen, int Port)
{
    public string? SymbolPath { get; init; }
    /// <summary>Stop once the profile has been fetched, instead of at Ctrl-C.</summary>
    public bool Once { get; init; }
}

public static class OpenCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("profile") { Description = "A .memprof recording or a Firefox profile (.json.gz / .json)." };
        var noOpen = new Option<bool>("--no-open") { Description = "Only print the link; do not start a browser." };
        var port = new Option<int>("--port") { Description = "Serve on this port of 127.0.0.1. Default: a free port.", DefaultValueFactory = _ => 0 };
        var once = new Option<bool>("--once") { Description = "Stop serving once the profile has been fetched (a reload of the tab then fails)." };
        var symbolPath = RecordingInput.SymbolPathOption();
        var command = new Command("open",
            "Open a recording in the Firefox Profiler: serve it on 127.0.0.1 (random port and path, only the Firefox " +
            "Profiler's origin may fetch it) and print, and open where a desktop is available, the profiler.firefox.com link. " +
            "Serves until Ctrl-C, so the tab can be reloaded and the link opened again; --once stops after the first fetch.")
        { input, noOpen, port, once, symbolPath };
        command.SetAction((parse, cancel) => Run(new OpenOptions(parse.GetValue(input)!, parse.GetValue(noOpen), parse.GetValue(port))
        { SymbolPath = parse.GetValue(symbolPath), Once = parse.GetValue(once) }, stdout, stderr, cancel));
        return command;
    }

    public static async Task<int> Run(OpenOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Port is < 0 or > 65535) throw new ProfilerException(ExitCode.UsageError, "--port must be between 0 and 65535");
        if (!File.Exists(options.Input)) throw new ProfilerException(ExitCode.FileNotFound, $"{options.Input} not found");
        var (profile, fileName) = LoadProfile(options, stderr);
        ProfileServer server;
        try
        {
            server = new ProfileServer(profile, fileName, options.Port);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new ProfilerException(ExitCode.UsageError, $"cannot listen on 127.0.0.1:{options.Port}: {e.Message}");
        }
        using (server)
        {
            stdout.WriteLine(server.FirefoxUrl);
            stdout.Flush();
            stderr.WriteLine(options.Once
                ? $"memprof: serving {fileName} on 127.0.0.1:{server.Port} until the Firefox Profiler has fetched it (Ctrl-C to stop)"
                : $"memprof: serving {fileName} on 127.0.0.1:{server.Port} until Ctrl-C; reloading the profiler's tab fetches it again");
            // Chrome asks before a public page may reach a local address; refused, the profiler
            // only says it cannot import the profile.
            stderr.WriteLine("memprof: the browser may ask whether profiler.firefox.com may access devices on your local network " +
                "(127.0.0.1): allow it, or the profile cannot load");
            if (!options.NoOpen) TryOpenBrowser(server.FirefoxUrl, stderr);
            await server.ServeAsync(stderr, options.Once, cancel);
        }
        stderr.WriteLine(cancel.IsCancellationRequested ? "memprof: stopped serving" : "memprof: profile fetched; stopped serving");
        return (int)ExitCode.Success;
    }

    static (byte[] Profile, string FileName) LoadProfile(OpenOptions options, TextWriter stderr)
    {
        string name = Path.GetFileName(options.Input);
        if (!name.EndsWith(".memprof", StringComparison.OrdinalIgnoreCase)) return (File.ReadAllBytes(options.Input), name);
        var model = RecordingInput.Load(options.Input, stderr, options.SymbolPath, streamEvents: true);
        string temp = Path.Combine(Path.GetTempPath(), $"memprof-open-{Guid.NewGuid():N}.json.gz");
        try
        {
            ExportCommand.WriteFirefox(model, temp, [options.Input], stderr);
            return (File.ReadAllBytes(temp), Path.GetFileName(ExportCommand.DefaultFirefoxPath(options.Input)));
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Starts the desktop's browser when there is a desktop; the link is printed anyway.</summary>
    static void TryOpenBrowser(string url, TextWriter stderr)
    {
        try
        {
            if (OperatingSystem.IsWindows())
                Process.Start(new ProcessStartInfo(url) { UseShellExecute = true })?.Dispose();
            else if (OperatingSystem.IsMacOS())
                Process.Start("open", [url])?.Dispose();
            else if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY")) ||
                     !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY")))
                Process.Start(new ProcessStartInfo("xdg-open", [url]) { RedirectStandardOutput = true, RedirectStandardError = true })?.Dispose();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            stderr.WriteLine($"memprof: could not start a browser ({e.Message}); open the link above");
        }
    }
}
