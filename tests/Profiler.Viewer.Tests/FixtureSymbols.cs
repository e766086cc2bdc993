using System.Globalization;
using Profiler.Core.Model;

namespace Profiler.Viewer.Tests;

/// <summary>
/// The fixture recording's symbols, saved beside it when it was recorded: the frames the ELF
/// resolver gave for every address the recording asks about. Tests then read the real recording
/// without needing the sample binary it was made from (whose build differs on each machine).
/// </summary>
public sealed class FixtureSymbols : IFrameResolver
{
    readonly Dictionary<(string BuildId, ulong Lookup), List<ResolvedFrame>> _frames = [];

    public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) =>
        _frames.TryGetValue((module.BuildId, lookupOffset), out var frames) ? frames : [];

    /// <summary>Lines of: build id, lookup offset, frame index, function, module path, module build
    /// id, address, file, line — tab-separated, hex numbers.</summary>
    public static FixtureSymbols Read(string path)
    {
        var symbols = new FixtureSymbols();
        foreach (var line in File.ReadLines(path))
        {
            var f = line.Split('\t');
            var key = (f[0], ulong.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            if (!symbols._frames.TryGetValue(key, out var list)) symbols._frames[key] = list = [];
            list.Add(new ResolvedFrame(f[3], Empty(f[4]), Empty(f[5]), ulong.Parse(f[6], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                Empty(f[7]), f[8].Length == 0 ? null : int.Parse(f[8], CultureInfo.InvariantCulture)));
        }
        return symbols;
    }

    static string? Empty(string s) => s.Length == 0 ? null : s;

    /// <summary>Wraps a real resolver and writes what it answered, source paths made relative to <paramref name="root"/>.</summary>
    public sealed class Recorder(IFrameResolver inner, string root) : IFrameResolver
    {
        readonly List<string> _lines = [];

        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset)
        {
            var frames = inner.Resolve(module, lookupOffset, fileOffset);
            for (int i = 0; i < frames.Count; i++)
            {
                var r = frames[i];
                string file = Relative(r.File), modulePath = Relative(r.ModulePath);
                _lines.Add(string.Join('\t', module.BuildId, lookupOffset.ToString("x", CultureInfo.InvariantCulture), i, r.Function,
                    modulePath, r.ModuleBuildId ?? "", r.Address.ToString("x", CultureInfo.InvariantCulture), file,
                    r.Line?.ToString(CultureInfo.InvariantCulture) ?? ""));
            }
            return frames;
        }

        string Relative(string? path) => path is null ? "" : path.StartsWith(root, StringComparison.Ordinal) ? path[root.Length..] : path;

        public void Save(string path) => File.WriteAllLines(path, _lines.Distinct());
    }
}
