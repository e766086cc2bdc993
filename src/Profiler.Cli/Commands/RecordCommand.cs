using System.CommandLine;
using System.Runtime.InteropServices;
using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Core;
using Profiler.Core.Sampling;
using Profiler.Export;

namespace Profiler.Cli.Commands;

public sealed record RecordOptions(string? Output, int? Pid, TimeSpan? Duration, bool Firefox, IReadOnlyList<string> Command)
{
    public ulong SampleRateBytes { get; init; } = PoissonSampling.DefaultRateBytes;
    public bool FollowChildren { get; init; } = true;
}

public static class RecordCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Recording file to write (default: NAME.memprof in the current directory, NAME being the command or process name).",
        };
        var pid = new Option<int?>("--pid", "-p") { Description = "Attach to this running process instead of launching a command." };
        var duration = new Option<TimeSpan?>("--duration", "-d")
        {
            Description = "Stop after this long (e.g. 30s, 2m, 500ms). Default: until the target exits or Ctrl-C.",
            CustomParser = r => DurationParser.Parse(r.Tokens[0].Value),
        };
        var rate = new Option<ulong>("--rate", "-r")
        {
            Description = "Mean bytes between samples (e.g. 64KiB, 1MiB); each allocated byte is sampled with probability " +
                          "1/RATE and samples carry unbiased weights. 1 records every allocation. Default: 512KiB.",
            DefaultValueFactory = _ => PoissonSampling.DefaultRateBytes,
            CustomParser = r => SizeParser.Parse(r.Tokens[0].Value),
        };
        var noFollow = new Option<bool>("--no-follow") { Description = "Record only the launched command's own process, not the children it forks." };
        var noFirefox = new Option<bool>("--no-firefox") { Description = "Do not write the Firefox profile (NAME.json.gz) next to the recording." };
        var command = new Argument<string[]>("command")
        {
            Description = "The command to launch and record, after --. Its stdin, stdout, stderr and exit code pass through.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var cmd = new Command("record",
            "Record every heap allocation and free of a process with stacks: launch a command (memprof record -- CMD ARGS…) " +
            "or attach to a running process (memprof record --pid PID). Writes a .memprof recording and a Firefox profile beside it.")
        { output, pid, duration, rate, noFollow, noFirefox, command };
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(new RecordOptions(
            parse.GetValue(output), parse.GetValue(pid), parse.GetValue(duration), !parse.GetValue(noFirefox),
            parse.GetValue(command) ?? [])
        {
            SampleRateBytes = parse.GetValue(rate),
            FollowChildren = !parse.GetValue(noFollow),
        }, stdout, stderr, cancel)));
        return cmd;
    }

    public static int Run(RecordOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Pid is null && options.Command.Count == 0)
            throw new ProfilerException(ExitCode.UsageError, "nothing to record: give a command after -- or --pid PID");
        if (options.Pid is not null && options.Command.Count > 0)
            throw new ProfilerException(ExitCode.UsageError, "give either --pid or a command, not both");
        if (options.Pid is <= 0)
            throw new ProfilerException(ExitCode.UsageError, $"--pid must be a positive process id, not {options.Pid}");
        if (options.Pid is { } target && Collectors.Linux.Procfs.ProcessState.Read(target) is null)
            throw new ProfilerException(ExitCode.TargetNotFound, $"no process with pid {options.Pid}");
        if (options.SampleRateBytes == 0)
            throw new ProfilerException(ExitCode.UsageError, "--rate must be at least 1 byte (1 records every allocation)");
        if (!OperatingSystem.IsLinux())
            throw new ProfilerException(ExitCode.KernelUnsupported, "recording needs Linux (eBPF)");

        string name = options.Command.Count > 0
            ? Path.GetFileName(options.Command[0])
            : File.ReadAllText($"/proc/{options.Pid}/comm").Trim();
        string output = options.Output ?? $"{name}.memprof";

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // Ctrl-C also reaches a launched command (same process group): let it end, then finish.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        var status = new StatusLine(stderr, enabled: !Console.IsErrorRedirected);
        var sessionOptions = new RecordSessionOptions(output, options.Command, options.Pid, options.Duration, MemprofCli.Version)
        {
            SampleRateBytes = options.SampleRateBytes,
            FollowChildren = options.FollowChildren && options.Pid is null,
        };
        string sampling = PoissonSampling.RecordsEverything(options.SampleRateBytes)
            ? "every allocation" : $"sampling every {SizeParser.Format(options.SampleRateBytes)} on average";
        var result = LinuxRecordSession.Run(
            sessionOptions,
            () => new BpfTracer(sessionOptions.TracerSettings),
            s => status.Show($"memprof: recording pid {(options.Pid?.ToString() ?? name)}{(s.Processes > 1 ? $" + {s.Processes - 1} children" : "")} · " +
                             $"{s.Events:N0} events · {s.EventsPerSecond:N0}/s · {s.Lost:N0} lost"),
            stop.Token,
            mode => stderr.WriteLine($"memprof: {sampling}, probes: {mode}" +
                                     (sessionOptions.FollowChildren ? ", following children" : "")));
        status.Clear();

        string processes = result.Processes > 1 ? $" and {result.Processes - 1} child processes" : "";
        stderr.WriteLine($"memprof: recorded {result.Events:N0} events from pid {result.TargetPid}{processes} ({result.Probes} probes, {result.Mode})" +
                         (result.LostEvents > 0 ? $"; {result.LostEvents:N0} events LOST (ring buffer full)" : "") + $" → {output}");
        if (options.Firefox)
        {
            var model = RecordingLoader.Load(output, stderr);
            string firefox = ExportCommand.DefaultFirefoxPath(output);
            FirefoxExporter.Write(model, firefox);
            stderr.WriteLine($"memprof: Firefox profile → {firefox} (open it at https://profiler.firefox.com/ with \"Load a profile from file\")");
        }
        using (var self = System.Diagnostics.Process.GetCurrentProcess())
            stderr.WriteLine($"memprof used {self.TotalProcessorTime.TotalSeconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} s CPU " +
                             $"and {self.PeakWorkingSet64 / (1024 * 1024)} MB of memory");
        return result.CommandExitCode ?? (int)ExitCode.Success;
    }
}
