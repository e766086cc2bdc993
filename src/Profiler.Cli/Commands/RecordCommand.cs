using System.CommandLine;
using Profiler.Collectors.Linux;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Core;
using Profiler.Core.Files;
using Profiler.Core.Sampling;
using Profiler.Export;

namespace Profiler.Cli.Commands;

public sealed record RecordOptions(string? Output, int? Pid, TimeSpan? Duration, bool Firefox, IReadOnlyList<string> Command)
{
    public ulong SampleRateBytes { get; init; } = PoissonSampling.DefaultRateBytes;
    public bool FollowChildren { get; init; } = true;
    /// <summary>Show the terminal UI live while recording.</summary>
    public bool Tui { get; init; }
    public UnwindMode Unwind { get; init; } = UnwindMode.Auto;
    public ulong StackSizeBytes { get; init; } = 64 * 1024;
    /// <summary>A launched command's stdout and stderr go to this file (the terminal UI owns the terminal).</summary>
    public string? TargetOutput { get; init; }
    /// <summary>How allocations are caught (Linux).</summary>
    public AllocatorMode Mode { get; init; } = AllocatorMode.Auto;
    /// <summary>Memory budgets checked once the recording is written (null: none).</summary>
    public BudgetRequest? Checks { get; init; }
    /// <summary>--buffer: bytes of each thread's shared ring and of the BPF ring buffer (null: sized from the rate).</summary>
    public ulong? BufferBytes { get; init; }
}

public static class RecordCommand
{
    /// <summary>A mean of one sample per GiB already leaves most programs with none.</summary>
    public const ulong MaxRateBytes = 1UL << 30;

    public static Command Build(TextWriter stdout, TextWriter stderr)
    {
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Recording file to write (default: NAME.memprof in the current directory, NAME being the command or process name).",
        };
        var pid = new Option<int?>("--pid", "-p")
        {
            Description = "Attach to this running process instead of launching a command.",
            CustomParser = r => int.TryParse(r.Tokens[0].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int value) && value > 0
                ? value
                : throw new ProfilerException(ExitCode.UsageError, $"--pid takes a process id (a positive number), not '{r.Tokens[0].Value}'"),
        };
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
        var unwind = new Option<string>("--unwind")
        {
            Description = "How sampled stacks are taken: fp (frame pointers only: cheaper, but cut wherever a function, " +
                          "such as Debian's glibc, keeps none), dwarf (copy the stack and unwind it with the binaries' CFI; " +
                          "works without frame pointers; a launched command unwinds its own stacks in process and copies only where that stops short), " +
                          "dwarf-copy (dwarf, but every stack copied and unwound by memprof: slower, for comparing) or auto (dwarf). Default: auto.",
            DefaultValueFactory = _ => "auto",
        };
        unwind.AcceptOnlyFromAmong("auto", "fp", "dwarf", "dwarf-copy");
        var stackSize = new Option<ulong>("--stack-size")
        {
            Description = "Most bytes of stack copied per sample for DWARF unwinding (a copy stops at the top of the stack; deeper frames are cut and the stack marked truncated). Up to 64KiB. Default: 64KiB.",
            DefaultValueFactory = _ => 64 * 1024,
            CustomParser = r => SizeParser.Parse(r.Tokens[0].Value),
        };
        var mode = new Option<string>("--mode")
        {
            Description = "How allocations are caught (Linux): preload (a launched command samples in-process, only samples " +
                          "trap), inject (attach only: load the sampler into the running process and send its allocator calls through it, " +
                          "only samples trap; opt-in for now, fails with exit code 71 where it cannot), probe (probes on every allocator call; works on " +
                          "attach and static binaries), jemalloc-prof (jemalloc's own sampling, where jemalloc has profiling compiled in) " +
                          "or auto (the cheapest that works for the target: jemalloc-prof, then preload on launch, " +
                          "then probe, saying why; on attach auto probes until injection is proven on many-threaded programs). The choice is printed at start. Default: auto.",
            DefaultValueFactory = _ => "auto",
        };
        mode.AcceptOnlyFromAmong("auto", "preload", "inject", "probe", "jemalloc-prof");
        var buffer = new Option<ulong?>("--buffer")
        {
            Description = "Memory for events on their way to memprof (e.g. 16MiB): the shared ring each thread of a launched " +
                          "command writes its events into when samples are frequent (--rate up to 64KiB; a thread waits when its ring " +
                          "is full, nothing is lost), and the kernel's ring buffer (which drops events when full). Default: from the rate " +
                          "(4MiB per thread at --rate 1).",
            CustomParser = r => SizeParser.Parse(r.Tokens[0].Value),
        };
        var noFirefox = new Option<bool>("--no-firefox") { Description = "Do not write the Firefox profile (NAME.json.gz) next to the recording." };
        var command = new Argument<string[]>("command")
        {
            Description = "The command to launch and record, after --. Its stdin, stdout, stderr and exit code pass through.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var tui = LiveView.TuiOption();
        var cmd = new Command("record",
            "Record the heap allocations (sampled, with unbiased weights and exact totals) and the frees of sampled blocks of a " +
            "process and its children, with stacks: launch a command (memprof record -- CMD ARGS…) or attach to a running " +
            "process (memprof record --pid PID). Writes a .memprof recording and a Firefox profile beside it.")
        { output, pid, duration, rate, mode, noFollow, unwind, stackSize, buffer, tui, noFirefox, command };
        var budgets = new BudgetOptionSet();
        foreach (var option in budgets.All) cmd.Options.Add(option);
        cmd.SetAction((parse, cancel) => Task.FromResult(Run(new RecordOptions(
            parse.GetValue(output), parse.GetValue(pid), parse.GetValue(duration), !parse.GetValue(noFirefox),
            parse.GetValue(command) ?? [])
        {
            SampleRateBytes = parse.GetValue(rate),
            FollowChildren = !parse.GetValue(noFollow),
            Unwind = parse.GetValue(unwind) switch { "fp" => UnwindMode.FramePointer, "dwarf" => UnwindMode.Dwarf, "dwarf-copy" => UnwindMode.DwarfCopy, _ => UnwindMode.Auto },
            StackSizeBytes = parse.GetValue(stackSize),
            BufferBytes = parse.GetValue(buffer),
            Mode = parse.GetValue(mode) switch
            {
                "preload" => AllocatorMode.Preload, "inject" => AllocatorMode.Inject, "probe" => AllocatorMode.Probe, "jemalloc-prof" => AllocatorMode.JemallocProf,
                _ => AllocatorMode.Auto,
            },
            Checks = budgets.Read(parse),
            Tui = parse.GetValue(tui),
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
        if (options.SampleRateBytes == 0)
            throw new ProfilerException(ExitCode.UsageError, "--rate must be at least 1 byte (1 records every allocation)");
        if (options.SampleRateBytes > MaxRateBytes)
            throw new ProfilerException(ExitCode.UsageError,
                $"--rate {SizeParser.Format(options.SampleRateBytes)} would sample almost nothing; the largest is {SizeParser.Format(MaxRateBytes)} (default 512KiB)");
        if (options.StackSizeBytes is < 256 or > 64 * 1024)
            throw new ProfilerException(ExitCode.UsageError, "--stack-size must be between 256 B and 64KiB");
        if (options.BufferBytes is < 1024 * 1024 or > 1UL << 31)
            throw new ProfilerException(ExitCode.UsageError, "--buffer must be between 1MiB and 2GiB");
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
            throw new ProfilerException(ExitCode.KernelUnsupported, "recording needs Linux (eBPF) or Windows (ETW)");

        string name = options.Command.Count > 0
            ? Path.GetFileName(options.Command[0])
            : TargetProcess.Name(options.Pid!.Value);
        string output = options.Output ?? $"{name}.memprof";
        // Written aside (NAME.memprof.partial, readable while it grows) and renamed when complete:
        // a recording that fails leaves the previous one of that name intact.
        string staging = OutputFile.StagingPath(output);
        string? firefox = options.Firefox ? ExportCommand.DefaultFirefoxPath(output) : null;
        if (firefox is not null) OutputFile.Prepare(firefox);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // Every Ctrl-C or SIGTERM only asks to stop (a second one is no different): the recording
        // and the Firefox profile are finished, and a launched command's exit code passed through.
        // Ctrl-C also reaches a launched command (same process group): it ends as it chooses.
        using var signals = TerminationSignals.Claim(() => { try { stop.Cancel(); } catch (ObjectDisposedException) { } });

        // The terminal UI owns the terminal: a launched command writes to a file beside the recording.
        if (options.Tui && options.Command.Count > 0 && options.TargetOutput is null)
            options = options with { TargetOutput = Path.ChangeExtension(output, ".out") };
        var status = new StatusLine(stderr, enabled: !Console.IsErrorRedirected && options.Checks?.Ci.IsCi != true);
        RecordOutcome outcome;
        try
        {
            outcome = options.Tui
                ? LiveView.Run(staging, stop, stderr, messages => OperatingSystem.IsWindows()
                    ? PlatformRecorders.OnWindows(options, staging, new StatusLine(messages, false), stop.Token)
                    : PlatformRecorders.OnLinux(options, staging, name, new StatusLine(messages, false), messages, stop.Token))
                : OperatingSystem.IsWindows()
                    ? PlatformRecorders.OnWindows(options, staging, status, stop.Token)
                    : PlatformRecorders.OnLinux(options, staging, name, status, stderr, stop.Token);
        }
        catch (ProfilerException e) when (staging != output && File.Exists(staging))
        {
            status.Clear();
            throw new ProfilerException(e.ExitCode, $"{e.Message.Replace(staging, output)} (what was recorded before it is kept in {staging})", e.InnerException)
            {
                CommandExitCode = e.CommandExitCode,
            };
        }
        status.Clear();
        OutputFile.Commit(staging, output);
        stderr.WriteLine($"memprof: {outcome.Summary} → {output}");
        if (options.TargetOutput is not null) stderr.WriteLine($"memprof: the command's output → {options.TargetOutput}");
        try
        {
            var model = firefox is not null || options.Checks?.Requested == true ? RecordingInput.Load(output, stderr, symbolPath: null, streamEvents: true) : null;
            if (firefox is not null && model is not null)
            {
                ExportCommand.WriteFirefox(model, firefox, inputs: [output], stderr);
                stderr.WriteLine($"memprof: Firefox profile → {firefox} (open it at https://profiler.firefox.com/ with \"Load a profile from file\")");
            }
            using (var self = System.Diagnostics.Process.GetCurrentProcess())
                stderr.WriteLine($"memprof used {self.TotalProcessorTime.TotalSeconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} s CPU " +
                                 $"and {self.PeakWorkingSet64 / (1024 * 1024)} MB of memory");
            int budgetCode = options.Checks is { Requested: true } checks && model is not null
                ? CheckCommand.Apply(model, checks, string.Join(' ', options.Command.DefaultIfEmpty(name)), stderr)
                : (int)ExitCode.Success;
            // A target left changed fails the run, whatever else passed: the recording is kept.
            if (outcome.Failure is { } failure) throw new ProfilerException(ExitCode.CollectorFailed, failure);
            // The command's own failure wins over a broken budget (see ExitCode.BudgetExceeded).
            return outcome.CommandExitCode is { } code and not 0 ? code : budgetCode;
        }
        catch (ProfilerException e) when (e.CommandExitCode is null && outcome.CommandExitCode is not null)
        {
            // The command has ended: its failure still wins over memprof's.
            throw new ProfilerException(e.ExitCode, e.Message, e.InnerException) { CommandExitCode = outcome.CommandExitCode };
        }
    }
}
