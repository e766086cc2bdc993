using System.Diagnostics;
using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Probes;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux;

public sealed record RecorderStatus(TimeSpan Elapsed, long Events, double EventsPerSecond, ulong Lost);

/// <summary>
/// Records one process: attaches probes to every mapped ELF that defines the allocation API,
/// drains the kernel's events into the recording and keeps module maps and thread names current.
/// </summary>
public sealed class AllocationRecorder(IKernelTracer tracer, RecordingWriter writer, int pid, Func<long>? clockNanos = null)
{
    readonly Func<long> _clock = clockNanos ?? (() => (long)Stopwatch.GetElapsedTime(0).TotalNanoseconds);
    readonly StackInterner _stacks = new();
    readonly Dictionary<uint, byte[]> _threadNames = [];
    readonly HashSet<string> _probedFiles = [];
    readonly List<(ulong Start, ulong End)> _knownRanges = [];
    readonly HashSet<(ulong, ulong, string)> _writtenMaps = [];
    readonly ulong[] _stackBuffer = new ulong[BpfEventHeader.MaxFrames + 1];
    long _origin;
    long? _lastMapsRead;
    bool _launched;

    public IReadOnlyList<ProbeSite> Sites => _sites;
    readonly List<ProbeSite> _sites = [];

    public long Events => writer.EventCount;

    /// <summary>Nanoseconds of the monotonic clock (bpf_ktime_get_ns) at the recording origin.</summary>
    /// <param name="launched">The target is still the launcher shell: its maps are about to be
    /// replaced by exec, so they are not recorded.</param>
    public void Start(long originMonotonicNanos, bool launched, IEnumerable<string>? extraFiles = null)
    {
        _origin = originMonotonicNanos;
        _launched = launched;
        tracer.Track(pid, launched);
        if (!launched) RefreshMaps(force: true);
        foreach (var path in extraFiles ?? []) AttachFile(path);
        foreach (var map in ProcMaps.Read(pid).Where(m => m.IsFile && m.IsExecutable)) AttachFile(map.Path);
        if (_sites.Count == 0)
            throw new Profiler.Core.ProfilerException(Profiler.Core.ExitCode.CollectorFailed,
                $"pid {pid} maps no file that defines malloc/free; nothing to probe");
    }

    void AttachFile(string path)
    {
        if (!_probedFiles.Add(path) || !File.Exists(path)) return;
        var plan = ProbePlanner.PlanFile(path);
        if (plan.Sites.Count == 0) return;
        tracer.Attach(pid, path, plan.Sites.Select(s => new UprobeTarget(s.FileOffset, s.Cookie, s.NeedsReturn)).ToList());
        _sites.AddRange(plan.Sites);
        if (_launched && plan.ExitHook is { } exitOffset)
            tracer.AttachExitHook(pid, path, exitOffset);
    }

    /// <summary>Drains what the kernel has; returns the number of records read.</summary>
    public int Poll(int timeoutMs)
    {
        int n = tracer.Drain(OnRecord, timeoutMs);
        writer.Tick();
        return n;
    }

    void OnRecord(ReadOnlySpan<byte> record)
    {
        if (!EventDecoder.TryDecode(record, out var e, _stackBuffer, out int frames)) return;
        if (e.Function == (uint)BpfFunction.Exit)
        {
            // The kernel stopped the process on its way out: read its maps, then let it go.
            RefreshMaps(force: true);
            Native.Kill((int)e.Pid, Native.SIGCONT);
            return;
        }
        if (e.Function == (uint)BpfFunction.Exec)
        {
            writer.WriteProcessExec(new ProcessExec { Pid = e.Pid, TimeNanos = (long)e.TimeNanos - _origin, Name = e.Comm.ToString() });
            NoteThread(e.Tid, e.Comm);
            RefreshMaps(force: true);
            return;
        }
        var stack = _stackBuffer.AsSpan(0, frames);
        ulong stackId = 0;
        if (frames > 0)
        {
            stackId = _stacks.Intern(stack, out bool isNew);
            if (isNew)
            {
                var s = new Stack { Id = stackId };
                s.Addresses.Add(stack.ToArray());
                s.Truncated = e.FrameCount >= BpfEventHeader.MaxFrames;
                writer.WriteStack(s);
                foreach (var address in stack)
                    if (!IsKnown(address)) { RefreshMaps(force: false); break; }
            }
        }
        NoteThread(e.Tid, e.Comm);
        long time = (long)e.TimeNanos - _origin;
        var function = (AllocFunction)e.Function;
        if (e.Function == (uint)BpfFunction.Free)
        {
            writer.WriteEvent(new RawEvent(EventKind.Free, time, e.Pid, e.Tid, e.Address, 0, 0, stackId, function));
            return;
        }
        if (e.OldAddress != 0)
            writer.WriteEvent(new RawEvent(EventKind.Free, time, e.Pid, e.Tid, e.OldAddress, 0, 0, stackId, function));
        if (e.Address != 0)
            writer.WriteEvent(new RawEvent(EventKind.Alloc, time, e.Pid, e.Tid, e.Address, e.Size, e.Size, stackId, function));
    }

    bool IsKnown(ulong address)
    {
        foreach (var (start, end) in _knownRanges)
            if (address >= start && address < end) return true;
        return false;
    }

    /// <summary>Records a thread's name when first seen and whenever it changes (exec, prctl).</summary>
    void NoteThread(uint tid, in ThreadName comm)
    {
        ReadOnlySpan<byte> bytes = comm;
        if (_threadNames.TryGetValue(tid, out var known) && bytes.SequenceEqual(known)) return;
        _threadNames[tid] = bytes.ToArray();
        writer.WriteThread(new Core.Recording.Proto.Thread { Pid = (uint)pid, Tid = tid, Name = comm.ToString() });
    }

    /// <summary>Reads /proc/PID/maps and records mappings not written before.</summary>
    public void RefreshMaps(bool force)
    {
        long now = _clock();
        // Unknown addresses can come in bursts (a library loaded late); re-read at most every 10 ms.
        if (!force && _lastMapsRead is { } last && now - last < 10_000_000) return;
        _lastMapsRead = now;
        var maps = ProcMaps.Read(pid);
        var buildIds = new Dictionary<string, string>();
        foreach (var m in maps)
        {
            if (!m.IsFile || !m.IsExecutable) continue;
            if (!_writtenMaps.Add((m.Start, m.End, m.Path))) continue;
            _knownRanges.Add((m.Start, m.End));
            if (!buildIds.TryGetValue(m.Path, out var buildId))
                buildIds[m.Path] = buildId = BuildIdOf(m.Path);
            writer.WriteModule(new Module
            {
                Pid = (uint)pid, Path = m.Path, BuildId = buildId, Start = m.Start, End = m.End,
                FileOffset = m.FileOffset, TimeNanos = now - _origin,
            });
        }
    }

    static string BuildIdOf(string path)
    {
        try
        {
            using var elf = Symbols.Elf.ElfFile.Open(path);
            return elf.BuildId ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Symbols.Elf.ElfFormatException) { return ""; }
    }

    public Stats Stats()
    {
        var (lost, _) = tracer.ReadCounters();
        return new Stats { TimeNanos = _clock() - _origin, Events = (ulong)writer.EventCount, LostEvents = lost };
    }
}
