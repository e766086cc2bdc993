using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Profiler.Collectors.Linux.Inject;

/// <summary>Runs a remote load in a process of its own (memprof started again with a hidden
/// verb), which outlives memprof: while the load waits for a safe point, the target's threads
/// carry armed debug registers, and if their tracer died then, their next allocator call would
/// trap with nobody to catch it and kill the target. The helper ignores the terminal's signals,
/// finishes or gives up within its bounds, always disarms, and prints its result as one line.</summary>
public sealed partial class RemoteLoaderProcess(IReadOnlyList<string> command)
{
    /// <summary>The hidden verb: `memprof __load-library PID LIBRARY [FUNCTION]` (FUNCTION, an
    /// address in hex, is called instead of loading: LIBRARY holds it).</summary>
    public const string Verb = "__load-library";

    /// <summary>memprof again (<see cref="MemprofProcess.Command"/>).</summary>
    public static RemoteLoaderProcess Memprof() => new(MemprofProcess.Command());

    /// <summary>Loads through the helper. Never throws for an expected failure: the result says why.</summary>
    public RemoteLoadResult Load(int pid, string library) => Run(pid, library, null);

    /// <summary>Calls a function of <paramref name="library"/> (already loaded) at a safe point; see <see cref="RemoteLoader.Call"/>.</summary>
    public RemoteLoadResult Call(int pid, string library, ulong function) => Run(pid, library, function);

    RemoteLoadResult Run(int pid, string library, ulong? function)
    {
        var options = RemoteLoaderOptions.Default;
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var word in command.Skip(1).Concat([Verb, pid.ToString(), library])) start.ArgumentList.Add(word);
        if (function is { } called) start.ArgumentList.Add(called.ToString("x"));
        Process process;
        try { process = Process.Start(start)!; }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return RemoteLoadResult.Failed($"the loader process cannot be started: {e.Message}");
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            // The helper bounds its own work; this bound only covers a helper that hangs. It is
            // never killed: a helper killed while threads are armed is the very hazard it avoids.
            var bound = options.SafePointTimeout + options.CallTimeout + TimeSpan.FromSeconds(60);
            if (!stdout.Wait(bound))
                return RemoteLoadResult.Failed($"the loader process (pid {process.Id}) did not answer within {bound.TotalSeconds:0} s");
            process.WaitForExit(TimeSpan.FromSeconds(5));
            var lines = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.LastOrDefault() is { } line && Decode(line) is { } result) return result;
            // Killed (by the OOM killer, a cgroup's kill): it may have died inside a probe's
            // registration or release, which leaves the probe's breakpoints in the target.
            // (A target gone meanwhile needs nothing taken out: what the notice could not do is moot.)
            foreach (var notice in lines.Select(SafePointProbeNotice.Decode).OfType<SafePointProbeNotice>())
                notice.TakeOut(SafePointProbe.Create);
            string why = stderr.Wait(TimeSpan.FromSeconds(1)) ? stderr.Result.Trim() : "";
            string died = process.HasExited && process.ExitCode > 128 ? $" (killed by signal {process.ExitCode - 128})" : "";
            return RemoteLoadResult.Failed($"the loader process gave no result{died}{(why.Length > 0 ? $": {why.Split('\n')[0]}" : "")}");
        }
    }

    /// <summary>The helper's main: loads, prints the result as one line, returns 0 (or 2 on bad arguments).</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        if (args.Count is not (2 or 3) || !int.TryParse(args[0], out int pid)) return 2;
        string library = args[1];
        ulong? function = null;
        if (args.Count == 3)
        {
            if (!ulong.TryParse(args[2], System.Globalization.NumberStyles.HexNumber, null, out var address)) return 2;
            function = address;
        }
        using var outOfReach = MemprofProcess.OutOfReach();
        RemoteLoadResult result;
        var loader = new RemoteLoader(new Ptrace(), new ProcfsRemoteLoaderTarget(), SafePointProbeNotice.Announcing(output, SafePointProbe.Create));
        try { result = function is { } called ? loader.Call(pid, library, called) : loader.Load(pid, library); }
        catch (Exception e) { result = RemoteLoadResult.Failed($"the load failed: {e.Message}"); }
        try
        {
            output.WriteLine(Encode(result));
            output.Flush();
        }
        catch (IOException) { /* memprof is gone: nobody to tell */ }
        return 0;
    }

    public static string Encode(RemoteLoadResult result) => JsonSerializer.Serialize(result, RemoteLoadResultJson.Default.RemoteLoadResult);

    public static RemoteLoadResult? Decode(string line)
    {
        try { return JsonSerializer.Deserialize(line, RemoteLoadResultJson.Default.RemoteLoadResult); }
        catch (JsonException) { return null; }
    }
}

/// <summary>The helper's one line, coded without reflection (memprof may be compiled ahead of time).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(RemoteLoadResult))]
internal sealed partial class RemoteLoadResultJson : System.Text.Json.Serialization.JsonSerializerContext;
