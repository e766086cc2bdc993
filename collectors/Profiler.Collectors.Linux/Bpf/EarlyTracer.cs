namespace Profiler.Collectors.Linux.Bpf;

/// <summary>A tracer made on a thread of its own while the caller goes on preparing; its failure
/// reaches the caller, unchanged, where it joins.</summary>
sealed class EarlyTracer
{
    readonly Task<IKernelTracer> _making;

    EarlyTracer(Task<IKernelTracer> making) => _making = making;

    public static EarlyTracer Start(Func<TracerSettings, IKernelTracer> factory, TracerSettings settings) =>
        new(Task.Factory.StartNew(() => factory(settings), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));

    public IKernelTracer Join() => _making.GetAwaiter().GetResult();

    /// <summary>The caller failed before joining: the tracer, once made, is released (no probe or
    /// tracepoint link outlives the failure).</summary>
    public void Discard()
    {
        try { _making.GetAwaiter().GetResult().Dispose(); }
        catch (Exception) { /* its own failure is not the one being reported */ }
    }
}
