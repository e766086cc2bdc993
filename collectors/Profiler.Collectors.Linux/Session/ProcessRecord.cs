using Profiler.Collectors.Linux.Bpf;
using Profiler.Collectors.Linux.Preload;
using Profiler.Collectors.Linux.Probes;
using Profiler.Collectors.Linux.Procfs;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.Session;

/// <summary>One recorded process: which of its files carry probes, which of its mappings are
/// recorded, and its last exact totals.</summary>
/// <param name="launched">memprof started the process (or it descends from one memprof follows):
/// it gets the hooks that stop it at exit and whenever the dynamic linker maps libraries.</param>
/// <param name="mayVanish">The process may die before its probes are in (a forked child).</param>
sealed class ProcessRecord(int pid, bool launched, bool mayVanish, SessionPorts ports, Func<long> sinceOrigin)
{
    readonly HashSet<string> _probedFiles = [];
    readonly List<(ulong Start, ulong End)> _knownRanges = [];
    int _lastKnown;
    readonly HashSet<(ulong, ulong, string)> _writtenMaps = [];
    readonly Dictionary<string, string> _buildIds = [];
    long? _lastMapsRead;
    BpfTotals? _lastTotals;
    PreloadTotals? _lastPreloadTotals;
    /// <summary>Where memprof_preload_state lies in this process while the preload library is mapped.</summary>
    ulong? _preloadState;
    bool _preloaded;
    bool _injected;

    public int Pid => pid;
    public bool Exited { get; set; }
    public List<ProbeSite> Sites { get; } = [];
    /// <summary>Mean sampling interval of jemalloc's profiling when its sampled path is probed.</summary>
    public ulong? JemallocRateBytes { get; private set; }
    /// <summary>The preload library samples in this process (as its maps were last probed); glibc's
    /// allocator is not probed.</summary>
    public bool Preloaded => _preloaded;

    /// <summary>Probes every mapped ELF file that defines the allocation API and was not probed
    /// for this process yet. A process's links follow it across exec, so files probed before an
    /// exec stay probed (probing them again would count every call twice).</summary>
    /// <param name="fresh">The process has not run its current image yet (launch, exec): jemalloc's
    /// profiling state comes from its environment rather than its memory.</param>
    /// <summary>Reads the maps of a process stopped where they changed (fork, exec, new libraries)
    /// and probes what they map: one read of /proc serves both.</summary>
    public void RefreshMapsAndProbes(bool fresh = false) => AttachMappedFiles(fresh: fresh, maps: RefreshMaps(force: true));

    /// <param name="maps">The process's maps, when just read.</param>
    public void AttachMappedFiles(IEnumerable<string>? extraFiles = null, bool fresh = false, IReadOnlyList<MapEntry>? maps = null)
    {
        var files = ports.Files;
        foreach (var path in extraFiles ?? []) AttachFile(path, fresh);
        maps ??= ports.Processes.Maps(pid);
        var mapped = maps.Where(m => m.IsFile && m.IsExecutable).Select(m => m.Path).Distinct().ToList();
        // Decided before any file is probed: with the preload library mapped, glibc's malloc
        // family is reached only through it, and probing glibc too would trap every call again.
        string? preloadFile = mapped.FirstOrDefault(f => files.Plan(files.Canonical(f)).Preload is not null);
        _preloaded = preloadFile is not null;
        // The injected sampler takes over the program's allocator slots whatever allocator they
        // lead to (glibc, a libjemalloc): no allocator is probed beside it.
        _injected = preloadFile is not null && Path.GetFileName(preloadFile) == InjectLibrary.FileName;
        // The library maps at a new address after each exec: its state is found from these maps.
        _preloadState = preloadFile is not null && ports.Files.LoadBias(maps, preloadFile) is { } bias
            ? files.Plan(files.Canonical(preloadFile)).Preload!.StateAddress + bias
            : null;
        foreach (var path in mapped) AttachFile(path, fresh);
        if (!_preloaded) ProbeInterposedGlibc(mapped);
    }

    /// <summary>Files whose allocator was left to the preload library (glibc's, or one it samples
    /// through), kept for an exec into an image without it (a command that cleared LD_PRELOAD, a
    /// setuid program).</summary>
    readonly HashSet<string> _leftToPreload = [];

    /// <summary>The process now runs without the preload library: the allocators the library used
    /// to interpose get their probes (exit() and ld.so's hooks are already there).</summary>
    void ProbeInterposedGlibc(IEnumerable<string> mappedFiles)
    {
        foreach (var mapped in mappedFiles)
        {
            string path = ports.Files.Canonical(mapped);
            if (!_leftToPreload.Remove(path)) continue;
            var sites = ports.Files.Plan(path).SitesServedByLaunchLibrary(path);
            if (sites.Count == 0) continue;
            Attach(path, [.. sites.Select(s => new UprobeTarget(s.FileOffset, s.Cookie, s.NeedsReturn))]);
            Sites.AddRange(sites);
        }
    }

    void AttachFile(string path, bool fresh)
    {
        // One file reached by two paths (a symlink) must be probed once, or each call counts twice.
        path = ports.Files.Canonical(path);
        if (!_probedFiles.Add(path) || !ports.Files.Exists(path)) return;
        var plan = ports.Files.Plan(path);
        IReadOnlyList<ProbeSite> sites = plan.Sites;
        // The launch library serves glibc's malloc family, or that of the allocator after it in
        // lookup order (libjemalloc.so.2), sampling in process: probing it too would trap every call.
        // The injected sampler is left glibc's here; it takes every other allocator below.
        bool interposed = _preloaded && (_injected ? PreloadLibrary.IsGlibcLibrary(path) : plan.ServedByLaunchLibrary(path));
        if (interposed && plan.SitesServedByLaunchLibrary(path) is { Count: > 0 } left)
        {
            sites = [.. sites.Except(left)];
            _leftToPreload.Add(path);
        }
        if (_injected && plan.Preload is null && sites.Count > 0)
        {
            sites = [];
            interposed = true;
        }
        // jemalloc sampling itself: only its sampled path is probed, its allocation calls run untouched.
        if (plan.Jemalloc is { } prof && ports.Jemalloc?.Decide(pid, path, () => Jemalloc.JemallocProfiling.Read(ports.Processes, ports.Files, pid, path, prof.Symbols, fresh)) is { } state)
        {
            sites = prof.Sites;
            JemallocRateBytes = state.RateBytes;
        }
        var targets = sites.Select(s => new UprobeTarget(s.FileOffset, s.Cookie, s.NeedsReturn)).ToList();
        // A launched process is stopped as it enters exit(), so its maps are read before they go,
        // and whenever the dynamic linker has mapped libraries, so an allocator in them is probed
        // before it runs (a program linked against libjemalloc.so, a dlopen'ed one).
        if (launched && (sites.Count > 0 || interposed) && plan.ExitHook is { } exitOffset)
            targets.Add(new UprobeTarget(exitOffset, BpfCookie.Make(BpfFunction.Exit, 0), WithReturn: false));
        // …and again at _exit, after the exit handlers' frees (their counters are the last word).
        if (launched && (sites.Count > 0 || interposed) && plan.FinalExitHook is { } finalExitOffset)
            targets.Add(new UprobeTarget(finalExitOffset, BpfCookie.Make(BpfFunction.Exit, 0), WithReturn: false));
        if (launched && plan.LibraryHook is { } hookOffset)
            targets.Add(new UprobeTarget(hookOffset, BpfCookie.Make(BpfFunction.Libraries, 0), WithReturn: false));
        if (targets.Count == 0) return;
        Attach(path, targets);
        Sites.AddRange(sites);
    }

    void Attach(string path, IReadOnlyList<UprobeTarget> targets) =>
        ports.Commands.Execute(new AttachProbes(pid, path, targets, mayVanish));

    public bool IsKnown(ulong address)
    {
        // A stack's addresses are looked up one after another, and neighbours share a module.
        if (_lastKnown < _knownRanges.Count && address >= _knownRanges[_lastKnown].Start && address < _knownRanges[_lastKnown].End)
            return true;
        for (int i = 0; i < _knownRanges.Count; i++)
            if (address >= _knownRanges[i].Start && address < _knownRanges[i].End)
            {
                _lastKnown = i;
                return true;
            }
        return false;
    }

    /// <summary>Reads the process's maps and records mappings not written before.</summary>
    /// <returns>The maps read; null when they were read too recently to read again.</returns>
    public IReadOnlyList<MapEntry>? RefreshMaps(bool force)
    {
        long now = sinceOrigin();
        // Unknown addresses can come in bursts (a library loaded late); re-read at most every 10 ms.
        if (!force && _lastMapsRead is { } last && now - last < 10_000_000) return null;
        _lastMapsRead = now;
        var maps = ports.Processes.Maps(pid);
        var current = new List<Core.Model.MappedModule>();
        foreach (var m in maps)
        {
            if (!m.IsFile || !m.IsExecutable) continue;
            string buildId = BuildIdOf(m.Path);
            current.Add(new Core.Model.MappedModule(m.Path, buildId, m.Start, m.End, m.FileOffset));
            if (!_writtenMaps.Add((m.Start, m.End, m.Path))) continue;
            _knownRanges.Add((m.Start, m.End));
            ports.Records.Module(new Module
            {
                Pid = (uint)pid, Path = m.Path, BuildId = buildId, Start = m.Start, End = m.End,
                FileOffset = m.FileOffset, TimeNanos = now,
            });
        }
        var trampoline = maps.FirstOrDefault(m => m.Path == "[uprobes]");
        ports.Unwinder?.SetMaps(pid, current, trampoline is null ? null : (trampoline.Start, trampoline.End));
        return maps;
    }

    string BuildIdOf(string path)
    {
        if (!_buildIds.TryGetValue(path, out var id)) _buildIds[path] = id = ports.Files.BuildId(path);
        return id;
    }

    /// <summary>Writes the process's exact totals if they changed since the last write.</summary>
    public void WriteTotals(long timeNanos, Func<long, long> toRecordingTime)
    {
        // With jemalloc sampling for us, its calls are not trapped: counters would see only the
        // few calls that still reach another allocator, so none are written.
        if (JemallocRateBytes is not null) return;
        // A process whose library forwards to another allocator never initializes its state:
        // then the probes on that allocator count.
        if (_preloaded && ReadPreloadState() is { } preloaded)
        {
            WritePreloadTotals(preloaded, timeNanos, toRecordingTime);
            return;
        }
        if (ports.Kernel.ReadTotals(pid) is not { } t) return;
        if (_lastTotals is { } previous && previous.Equals(t)) return;
        _lastTotals = t;
        ports.Records.Counters(new HeapCounters
        {
            Pid = (uint)pid, TimeNanos = timeNanos,
            Allocations = t.Allocations, AllocatedBytes = t.AllocatedBytes, Frees = t.Frees,
            FreedBytes = t.FreedUsable, LiveBytesKnown = t.UsableKnown != 0, LiveBytes = t.LiveUsable,
            PeakLiveBytes = t.PeakUsable, PeakTimeNanos = t.PeakTimeNanos == 0 ? 0 : toRecordingTime((long)t.PeakTimeNanos),
        });
    }

    readonly byte[] _preloadBuffer = new byte[PreloadState.Size];
    (long Bytes, long Time) _peak;

    /// <summary>Null until the library has run its first call (or when it forwards every call).</summary>
    PreloadTotals? ReadPreloadState() =>
        _preloadState is { } address && ports.Processes.TryRead(pid, address, _preloadBuffer) ? PreloadState.Decode(_preloadBuffer) : null;

    /// <summary>Samples the preload library could not remember (its address set had no room).</summary>
    public ulong PreloadUntrackedSamples => _lastPreloadTotals?.UntrackedSamples ?? 0;

    /// <summary>The preload library's counters, read from the process's memory (plus what probes
    /// on other allocators counted, whose blocks have no glibc usable size).</summary>
    void WritePreloadTotals(PreloadTotals p, long timeNanos, Func<long, long> toRecordingTime)
    {
        var probed = ports.Kernel.ReadTotals(pid);
        if (_lastPreloadTotals is { } previous && previous.Equals(p) && (probed is null || probed.Equals(_lastTotals))) return;
        _lastPreloadTotals = p;
        _lastTotals = probed;
        var other = probed ?? default;
        _peak = PeakLatch.After(_peak, p.FlushedPeakUsable, p.PeakTimeNanos == 0 ? null : toRecordingTime((long)p.PeakTimeNanos), p.LiveUsable, timeNanos);
        ports.Records.Counters(new HeapCounters
        {
            Pid = (uint)pid, TimeNanos = timeNanos,
            Allocations = p.Allocations + other.Allocations, AllocatedBytes = p.AllocatedBytes + other.AllocatedBytes,
            Frees = p.Frees + other.Frees, FreedBytes = p.FreedUsable + other.FreedUsable,
            LiveBytesKnown = probed is null || probed.Value.Allocations + probed.Value.Frees == 0,
            LiveBytes = p.LiveUsable, PeakLiveBytes = _peak.Bytes, PeakTimeNanos = _peak.Time,
        });
    }
}
