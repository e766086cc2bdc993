using Profiler.Core.Model;

namespace Profiler.Symbols.Resolution;

/// <summary>
/// Names each module's addresses with the resolver for its <see cref="ModuleFormat"/>, so one
/// recording needs no collector-specific choice of symbolizer. A format's resolver is created the
/// first time one of its modules is seen (a Linux recording never creates the PDB reader), and
/// the warnings of those created are reported in that order.
/// </summary>
public sealed class ModuleFormatResolver : IFrameResolver, IWarningSource, IDisposable
{
    readonly Lazy<IFrameResolver>[] _resolvers;
    readonly List<IFrameResolver> _created = [];

    /// <param name="create">Makes the resolver for a format; called at most once per format.</param>
    public ModuleFormatResolver(Func<ModuleFormat, IFrameResolver> create)
    {
        _resolvers = Enum.GetValues<ModuleFormat>().Select(format => new Lazy<IFrameResolver>(() =>
        {
            var resolver = create(format);
            lock (_created) _created.Add(resolver);
            return resolver;
        })).ToArray();
    }

    public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) =>
        _resolvers[(int)ModuleFormats.Of(module)].Value.Resolve(module, lookupOffset, fileOffset);

    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (_created) return _created.OfType<IWarningSource>().SelectMany(source => source.Warnings).ToList();
        }
    }

    public void Dispose()
    {
        lock (_created)
        {
            foreach (var resolver in _created) (resolver as IDisposable)?.Dispose();
            _created.Clear();
        }
    }
}
