namespace Profiler.Collectors.Linux.Bpf;

/// <summary>A tracer made on a thread of its own while the caller goes on preparing; its failure
/// reaches the caller, unchanged, where it joins.</summary>
sealed class EarlyTracer
{
    readonly Func<TracerSettings, IKernelTracer> _factory;
    readonly TracerSettings _settings;
    readonly Task<IKernelTracer> _making;

    EarlyTracer(Func<TracerSettings, IKernelTracer> factory, TracerSettings settings)
    {
        (_factory, _settings) = (factory, settings);
        _making = Task.Factory.StartNew(() => factory(settings), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <param name="settings">What the caller expects the launch to need (e.g. shared rings).</param>
    public static EarlyTracer Start(Func<TracerSettings, IKernelTracer> factory, TracerSettings settings) => new(factory, settings);

    /// <summary>The tracer for <paramref name="wanted"/>: the one made early when the preparation
    /// confirmed its settings, else a new one (a launch that cannot use the shared rings traps
    /// every call on the markers and needs the larger kernel buffer).</summary>
    public IKernelTracer Join(TracerSettings wanted)
    {
        if (wanted == _settings) return _making.GetAwaiter().GetResult();
        Discard();
        return _factory(wanted);
    }

    /// <summary>The caller failed before joining: the tracer, once made, is released (no probe or
    /// tracepoint link outlives the failure).</summary>
    public void Discard()
    {
        try { _making.GetAwaiter().GetResult().Dispose(); }
        catch (Exception) { /* its own failure is not the one being reported */ }
    }
}
