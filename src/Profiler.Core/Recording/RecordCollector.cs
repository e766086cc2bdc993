using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>The records of a recording other than its header and events, gathered the same way by
/// both readers, and the recording they make once the events are decoded.</summary>
sealed class RecordCollector
{
    readonly List<Module> _modules = [];
    readonly List<Proto.Thread> _threads = [];
    readonly RawStackTable _stacks = new();
    readonly List<ProcessExit> _exits = [];
    readonly List<ProcessExec> _execs = [];
    readonly List<ProcessFork> _forks = [];
    readonly List<HeapCounters> _counters = [];
    readonly List<JitSymbols> _jitSymbols = [];
    readonly List<ManagedHeap> _managedHeap = [];
    Stats? _stats;

    public List<string> Warnings { get; } = [];
    public Footer? Footer { get; private set; }
    /// <summary>The last record was cut off (the reader stopped there).</summary>
    public bool CutShort { get; set; }
    public int DamagedRecords { get; private set; }
    public long DamagedBytes { get; private set; }

    /// <summary>A record whose integrity check failed was skipped.</summary>
    public void Damaged(long bytes)
    {
        DamagedRecords++;
        DamagedBytes += bytes;
    }

    /// <summary>Keeps a record that is neither the header nor events; false for those two (and
    /// for kinds of a newer revision, which are skipped).</summary>
    public bool Add(Record record)
    {
        switch (record.KindCase)
        {
            case Record.KindOneofCase.Module: _modules.Add(record.Module); return true;
            case Record.KindOneofCase.Thread: _threads.Add(record.Thread); return true;
            case Record.KindOneofCase.Stack: _stacks.Add(record.Stack); return true;
            case Record.KindOneofCase.ProcessExit: _exits.Add(record.ProcessExit); return true;
            case Record.KindOneofCase.ProcessExec: _execs.Add(record.ProcessExec); return true;
            case Record.KindOneofCase.ProcessFork: _forks.Add(record.ProcessFork); return true;
            case Record.KindOneofCase.HeapCounters: _counters.Add(record.HeapCounters); return true;
            case Record.KindOneofCase.ManagedHeap: _managedHeap.Add(record.ManagedHeap); return true;
            case Record.KindOneofCase.JitSymbols: _jitSymbols.Add(record.JitSymbols); return true;
            case Record.KindOneofCase.Stats: _stats = record.Stats; return true;
            case Record.KindOneofCase.Footer: Footer = record.Footer; return true;
            default: return false;
        }
    }

    /// <summary>Where a compressed batch's stacks go; like a stack record, a later one of the same id wins.</summary>
    public RawStackTable Stacks => _stacks;

    public RawRecording Build(Header header, EventColumns events, string name)
    {
        if (Footer is null && Warnings.Count == 0)
            Warnings.Add($"{name} has no end marker: the recorder did not finish cleanly; reading what was flushed");
        _stacks.TrimExcess();
        return new RawRecording
        {
            Header = header, Modules = _modules, Threads = _threads, Stacks = _stacks, Events = events,
            Exits = _exits, Execs = _execs, Forks = _forks, Counters = _counters, JitSymbols = _jitSymbols, ManagedHeap = _managedHeap, LastStats = _stats, Footer = Footer, Warnings = Warnings,
            Integrity = new RecordingIntegrity(Footer is not null, CutShort, DamagedRecords, DamagedBytes),
        };
    }
}
