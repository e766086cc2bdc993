using Profiler.Collectors.Linux.Bpf;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Collectors.Linux.Session;

/// <summary>Signals to the traced processes.</summary>
public interface IProcessControl
{
    /// <summary>SIGCONT: lets a process stopped by a hook (or the launcher's stop) run on.</summary>
    void Resume(int pid);
    /// <summary>SIGTERM: asks a command to end.</summary>
    void Terminate(int pid);
    /// <summary>SIGKILL: for a command that must not run unrecorded.</summary>
    void Kill(int pid);
}

public sealed class SignalProcessControl : IProcessControl
{
    public void Resume(int pid) => Native.Kill(pid, Native.SIGCONT);
    public void Terminate(int pid) => Native.Kill(pid, Native.SIGTERM);
    public void Kill(int pid) => Native.Kill(pid, Native.SIGKILL);
}

/// <summary>The core's records, written to the recording.</summary>
public sealed class WriterRecordSink(RecordingWriter writer) : IRecordSink
{
    public void Event(in RawEvent e) => writer.WriteEvent(e);
    public void Stack(Stack stack) => writer.WriteStack(stack);
    public void Module(Module module) => writer.WriteModule(module);
    public void Thread(Core.Recording.Proto.Thread thread) => writer.WriteThread(thread);
    public void Exec(ProcessExec exec) => writer.WriteProcessExec(exec);
    public void Fork(ProcessFork fork) => writer.WriteProcessFork(fork);
    public void Exit(ProcessExit exit) => writer.WriteProcessExit(exit);
    public void Counters(HeapCounters counters) => writer.WriteHeapCounters(counters);
}

/// <summary>The core's commands, carried out on the kernel tracer and the processes.</summary>
/// <param name="guard">Told of each probe before it is attached (attached processes only).</param>
public sealed class KernelCommandSink(IKernelTracer tracer, IProcessControl processes, IProcessView view, IProbeGuard? guard = null) : ICommandSink
{
    public void Execute(SessionCommand command)
    {
        try
        {
            switch (command)
            {
                case TrackProcess track: tracer.Track(track.Pid, track.Launched); break;
                case AttachProbes attach:
                    guard?.Announce(attach.Pid, attach.Path, attach.Targets.Select(t => t.FileOffset).ToList());
                    tracer.Attach(attach.Pid, attach.Path, attach.Targets);
                    break;
                case ResumeProcess resume: processes.Resume(resume.Pid); break;
                default: throw new ArgumentException($"unknown command {command}", nameof(command));
            }
        }
        // A child that died before its probes were in: nothing of it to record.
        catch (Core.ProfilerException) when (command is AttachProbes { MayVanish: true } && !view.Exists(command.Pid)) { }
    }
}
