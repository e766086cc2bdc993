using System.Collections.Concurrent;
using System.Text.Json;

namespace Profiler.Tests.Unwinding;

/// <summary>One breakpoint of a capture: a gdb location ("*malloc", "allocs::leak_leaf"), optionally
/// moved on by a number of instructions (to stop after a push), and hits to let pass first.</summary>
public sealed record GdbStop(string Location, int SkipInstructions = 0, int Ignore = 0);

/// <summary>
/// Runs a program under gdb (batch mode, no ASLR) to a sequence of breakpoints — each one placed
/// when the previous is hit — and records at the last stop what memprof's BPF side records per
/// sample (registers, up to 16 KiB of stack from rsp, /proc/PID/maps) together with gdb's own
/// backtrace, which is the oracle the unwinder is checked against.
/// </summary>
public static class GdbStackCapture
{
    public const int StackBytes = 16 * 1024;

    private const string Script = """
        import gdb, json, os, re
        spec = json.load(open(os.environ["MEMPROF_CAPTURE_SPEC"]))
        for setting in ["pagination off", "confirm off", "backtrace past-main on", "backtrace past-entry on",
                        "debuginfod enabled off", "startup-with-shell off"]:
            gdb.execute("set " + setting)
        for command in spec["setup"]:
            gdb.execute(command)
        gdb.execute("starti", to_string=True)
        skipped = []
        for stop in spec["stops"]:
            # Address expressions are parsed in the current language; C parses "*malloc" anywhere.
            if stop["location"].startswith("*"):
                gdb.execute("set language c")
            bp = gdb.Breakpoint(stop["location"])
            gdb.execute("set language auto")
            if stop["skip"]:
                start = bp.locations[0].address
                bp.delete()
                insns = gdb.selected_frame().architecture().disassemble(start, count=stop["skip"] + 1)
                bp = gdb.Breakpoint("*0x%x" % insns[stop["skip"]]["addr"])
                skipped = [insn["asm"] for insn in insns[:stop["skip"]]]
            bp.ignore_count = stop["ignore"]
            gdb.execute("continue", to_string=True)
            if gdb.selected_thread() is None or bp.hit_count <= stop["ignore"]:
                raise gdb.GdbError("the program did not reach " + stop["location"])
            bp.delete()
        frame = gdb.newest_frame()
        names = ["rip", "rsp", "rbp", "rbx", "r12", "r13", "r14", "r15"]
        registers = {name: int(frame.read_register(name)) & 0xffffffffffffffff for name in names}
        pid = gdb.selected_inferior().pid
        maps = open("/proc/%d/maps" % pid).read()
        rsp = registers["rsp"]
        top = rsp
        for line in maps.splitlines():
            low, high = [int(x, 16) for x in line.split()[0].split("-")]
            if low <= rsp < high:
                top = high
        data = gdb.selected_inferior().read_memory(rsp, min(spec["stack_bytes"], top - rsp))
        open(spec["stack_file"], "wb").write(bytes(data))
        frames = []
        last = frame
        while frame is not None:
            # Where gdb found this frame's return address ("rip at 0x..." among the saved registers).
            slot = None
            if frame.type() not in (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME):
                frame.select()
                found = re.search(r"\brip at (0x[0-9a-f]+)", gdb.execute("info frame", to_string=True))
                slot = int(found.group(1), 16) if found else None
            frames.append({"pc": frame.pc(), "type": frame.type(), "name": frame.name() or "", "return_slot": slot})
            last = frame
            frame = frame.older()
        json.dump({"registers": registers, "stack_address": rsp, "maps": maps, "frames": frames, "skipped": skipped,
                   "outermost": last.unwind_stop_reason() == gdb.FRAME_UNWIND_OUTERMOST,
                   "stop_reason": gdb.frame_stop_reason_string(last.unwind_stop_reason())},
                  open(spec["output"], "w"))
        gdb.execute("kill")
        """;

    private static readonly ConcurrentDictionary<string, Lazy<CapturedStack>> Captured = new();

    /// <summary>Like <see cref="Capture"/>, but each distinct capture runs gdb once per test run:
    /// several tests examine the same stop.</summary>
    public static CapturedStack Shared(string program, IReadOnlyList<GdbStop> stops, IReadOnlyList<string>? setup = null)
    {
        string key = string.Join('\n', [program, .. stops.Select(s => s.ToString()), .. setup ?? []]);
        return Captured.GetOrAdd(key, _ => new Lazy<CapturedStack>(() => Capture(program, [], stops, setup))).Value;
    }

    /// <summary>Runs <paramref name="program"/> to the stops and captures the stack there.</summary>
    public static CapturedStack Capture(string program, IReadOnlyList<string> arguments, IReadOnlyList<GdbStop> stops,
        IReadOnlyList<string>? setup = null, int stackBytes = StackBytes)
    {
        if (!File.Exists(program))
            throw new InvalidOperationException($"{program} is missing (samples/build.sh builds the samples)");
        var work = Directory.CreateTempSubdirectory("unwind-capture-");
        try
        {
            string scriptPath = Path.Combine(work.FullName, "capture.py");
            string specPath = Path.Combine(work.FullName, "spec.json");
            string outputPath = Path.Combine(work.FullName, "capture.json");
            string stackPath = Path.Combine(work.FullName, "stack.bin");
            File.WriteAllText(scriptPath, Script);
            File.WriteAllText(specPath, JsonSerializer.Serialize(new
            {
                setup = setup ?? [],
                stops = stops.Select(s => new { location = s.Location, skip = s.SkipInstructions, ignore = s.Ignore }),
                stack_bytes = stackBytes,
                stack_file = stackPath,
                output = outputPath,
            }));
            RunGdb(scriptPath, specPath, program, arguments, outputPath);
            return CapturedStack.Parse(File.ReadAllText(outputPath), File.ReadAllBytes(stackPath));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static void RunGdb(string script, string spec, string program, IReadOnlyList<string> arguments, string output)
    {
        var options = ProcessOptions.CLocale with { Timeout = TimeSpan.FromMinutes(2) };
        var result = ProcessRunner.Run("gdb", ["-batch", "-nx", "-q", "-x", script, "--args", program, .. arguments],
            options.WithEnvironment("MEMPROF_CAPTURE_SPEC", spec).WithEnvironment("DEBUGINFOD_URLS", null));
        if (!File.Exists(output))
            Assert.Fail(result.Describe($"captured nothing from {program}"));
    }
}
