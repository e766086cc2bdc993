using System.IO.Compression;
using Google.Protobuf;
using Perftools.Profiles;
using Profiler.Core.Analysis;
using Profiler.Core.Model;
using PprofValueType = Perftools.Profiles.ValueType;

namespace Profiler.Export.Pprof;

/// <summary>
/// The model as a gzipped pprof profile shaped like Go's heap profiles: alloc_objects, alloc_space,
/// inuse_objects and inuse_space (in use = never freed by the end of the recording), inuse_space
/// shown by default. Values are the bytes and objects the sampled events stand for, so they are
/// estimates of the real totals, exact at sampling rate 1. One sample per stack, process and
/// thread name, labelled pid, comm (process name) and thread_comm (thread name) as Linux
/// perf_to_profile does. Stacks are kept whole; drop_frames names the allocator's functions and
/// the standard-library functions allocations went through, so pprof shows each allocation at its
/// site (<see cref="SiteMode"/>), as Go's and gperftools' heap profiles show the caller of malloc.
/// </summary>
public static class PprofExporter
{
    public static readonly string[] SampleTypes = ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"];
    public const string DefaultSampleType = "inuse_space";

    /// <summary>Stands in for events recorded without a stack, so their bytes show up in pprof's
    /// per-function views instead of only in the total.</summary>
    public const string NoStackFunction = "[no stack]";

    /// <param name="segmentsOf">The loadable segments of a module's file, for mapping address ranges
    /// (e.g. <see cref="ElfModuleSegments.Read"/>); null or a null result: the ranges are those of
    /// the module's addresses.</param>
    public static void Write(ProfileModel model, Stream output, Func<ModuleInfo, IReadOnlyList<ModuleSegment>?>? segmentsOf = null,
        SiteMode siteMode = SiteMode.Program)
    {
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        using var coded = new CodedOutputStream(gzip, leaveOpen: true);
        // The samples (field 2, after the sample types) are written as they are made, not held:
        // with a stack each they are most of a profile. The rest follows in field order, so the
        // bytes are those of the whole profile written at once.
        var rest = Build(model, segmentsOf, siteMode, sampleTypes => new Profile { SampleType = { sampleTypes } }.WriteTo(coded), sample =>
        {
            coded.WriteTag(Profile.SampleFieldNumber, WireFormat.WireType.LengthDelimited);
            coded.WriteMessage(sample);
        });
        rest.SampleType.Clear();
        rest.WriteTo(coded);
    }

    public static void Write(ProfileModel model, string path, Func<ModuleInfo, IReadOnlyList<ModuleSegment>?>? segmentsOf = null,
        SiteMode siteMode = SiteMode.Program)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        Write(model, file, segmentsOf, siteMode);
    }

    public static Profile Build(ProfileModel model, Func<ModuleInfo, IReadOnlyList<ModuleSegment>?>? segmentsOf = null,
        SiteMode siteMode = SiteMode.Program)
    {
        var samples = new List<Sample>();
        var profile = Build(model, segmentsOf, siteMode, _ => { }, samples.Add);
        profile.Sample.AddRange(samples);
        return profile;
    }

    /// <param name="typesMade">Given the sample types once they are known, before the first sample.</param>
    /// <param name="sampleMade">Given each sample, in order, instead of the profile.</param>
    static Profile Build(ProfileModel model, Func<ModuleInfo, IReadOnlyList<ModuleSegment>?>? segmentsOf,
        SiteMode siteMode, Action<IEnumerable<PprofValueType>> typesMade, Action<Sample> sampleMade)
    {
        var profile = new Profile();
        var strings = new StringTable();
        var mappings = new MappingTable(model.Tables, strings, segmentsOf ?? (_ => null));
        var locations = new LocationTable(model.Tables, strings, mappings, profile);
        var info = model.Info;

        foreach (var type in SampleTypes)
            profile.SampleType.Add(new PprofValueType { Type = strings.Intern(type), Unit = strings.Intern(type.EndsWith("_space") ? "bytes" : "count") });
        profile.DefaultSampleType = strings.Intern(DefaultSampleType);
        profile.PeriodType = new PprofValueType { Type = strings.Intern("space"), Unit = strings.Intern("bytes") };
        profile.Period = (long)Math.Max(1, info.SamplingRateBytes);
        profile.TimeNanos = (info.StartTime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        profile.DurationNanos = info.DurationNanos;
        foreach (var comment in Comments(info)) profile.Comment.Add(strings.Intern(comment));

        var pidKey = strings.Intern("pid");
        var commKey = strings.Intern("comm");
        var threadKey = strings.Intern("thread_comm");
        var processes = model.Processes.ToDictionary(p => p.Pid);
        typesMade(profile.SampleType);
        foreach (var ((stack, pid, thread), totals) in Aggregate(model, processes))
        {
            var sample = new Sample();
            locations.AddLocationsOf(stack, sample.LocationId);
            sample.Value.Add((long)Math.Round(totals.AllocObjects));
            sample.Value.Add(totals.AllocBytes);
            sample.Value.Add((long)Math.Round(totals.InuseObjects));
            sample.Value.Add(totals.InuseBytes);
            sample.Label.Add(new Label { Key = pidKey, Num = pid });
            if (processes.TryGetValue(pid, out var process) && process.Name.Length > 0)
                sample.Label.Add(new Label { Key = commKey, Str = strings.Intern(process.Name) });
            if (thread.Length > 0) sample.Label.Add(new Label { Key = threadKey, Str = strings.Intern(thread) });
            sampleMade(sample);
        }

        mappings.AddTo(profile);
        profile.DropFrames = strings.Intern(DropFramesPattern(model, siteMode));
        profile.StringTable.AddRange(strings.Strings);
        return profile;
    }

    sealed class Totals
    {
        public double AllocObjects, InuseObjects;
        public long AllocBytes, InuseBytes;
    }

    /// <summary>Sums every allocation into its (stack, pid, thread name) sample, in first-seen order.</summary>
    static Dictionary<(StackId Stack, uint Pid, string Thread), Totals> Aggregate(ProfileModel model, Dictionary<uint, ProcessInfo> processes)
    {
        var threadNames = processes.Values
            .SelectMany(p => p.Threads.Select(t => (Key: (p.Pid, t.Tid), t.Name)))
            .DistinctBy(t => t.Key)
            .ToDictionary(t => t.Key, t => t.Name);
        var visitor = new SampleSums(threadNames);
        PairedWalk.Run(model.EventSource, visitor);
        return visitor.Samples;
    }

    /// <summary>Allocated figures as each allocation is made; in-use ones for the blocks never freed.</summary>
    sealed class SampleSums(Dictionary<(uint, uint), string> threadNames) : PairedVisitor
    {
        public readonly Dictionary<(StackId, uint, string), Totals> Samples = [];

        Totals Of(StackId stack, uint pid, uint tid)
        {
            string thread = threadNames.GetValueOrDefault((pid, tid), "");
            var key = (stack, pid, thread);
            if (!Samples.TryGetValue(key, out var totals)) Samples[key] = totals = new Totals();
            return totals;
        }

        // A sampled event of weight w and size s stands for w/s allocations of that size.
        static double Objects(ulong size, ulong weight) => size == 0 ? 1 : (double)weight / size;

        public override void Alloc(EventChunk c, int i)
        {
            var totals = Of(c.Stack[i], c.Pid[i], c.Tid[i]);
            totals.AllocObjects += Objects(c.Size[i], c.Weight[i]);
            totals.AllocBytes += (long)c.Weight[i];
        }

        public override void End(IReadOnlyList<LiveBlock> live)
        {
            foreach (var block in live)
            {
                var totals = Of(block.Stack, block.Pid, block.Tid);
                totals.InuseObjects += Objects(block.Size, block.Weight);
                totals.InuseBytes += (long)block.Weight;
            }
        }
    }

    /// <summary>
    /// drop_frames for the model's allocating stacks: an RE2 alternation of the functions between
    /// each stack's site and its leaf — the allocator's, and the standard-library path the site
    /// allocated through — which pprof matches against whole names cut at their first '(' (its
    /// simplifyFunc). pprof cuts a stack at the first matching frame below (towards the leaf) a
    /// frame that does not match, so a library function that is also found at or above some
    /// stack's site (<c>Iterator::fold</c> calling the program's closure, libc's
    /// <c>__libc_start_call_main</c> calling main) is left out: naming it would cut those stacks
    /// above their site. Allocations made through such a function then show at that function.
    /// </summary>
    public static string DropFramesPattern(ProfileModel model, SiteMode siteMode = SiteMode.Program)
    {
        var tables = model.Tables;
        var below = new HashSet<string>(StringComparer.Ordinal);
        var atOrAbove = new HashSet<string>(StringComparer.Ordinal);
        var stacks = new List<StackId>();
        var seen = new HashSet<StackId>();
        model.EventSource.Walk(chunk =>
        {
            for (int i = 0; i < chunk.Count; i++)
                if (chunk.Kind[i] == EventKind.Alloc && seen.Add(chunk.Stack[i])) stacks.Add(chunk.Stack[i]);
        });
        foreach (var stack in stacks)
        {
            if (SiteAnalysis.SiteFrameOf(tables, stack, siteMode) is not { } site) continue;
            bool reachedSite = false;
            foreach (var frame in tables.FramesLeafFirst(stack))
            {
                reachedSite |= frame == site;
                string name = tables.FunctionName(frame);
                if (SiteAnalysis.KindOf(tables, frame) == FrameKind.Allocator) below.Add(name);
                else (reachedSite ? atOrAbove : below).Add(name);
            }
        }
        return PatternOf(below.Where(name => !atOrAbove.Contains(name)));
    }

    static string PatternOf(IEnumerable<string> functions)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in functions)
        {
            names.Add(name);
            if (name.IndexOf('(') is int paren and > 0) names.Add(name[..paren]);
        }
        return string.Join('|', names.Select(QuoteForRe2));
    }

    static string QuoteForRe2(string text) =>
        string.Concat(text.Select(c => @"\.+*?()|[]{}^$".Contains(c) ? $"\\{c}" : c.ToString()));

    static IEnumerable<string> Comments(RecordingInfo info)
    {
        yield return string.Join(' ', info.Command.Select(QuoteForShell));
        string rate = info.SamplingRateBytes <= 1 ? "every allocation" : $"allocations sampled every {info.SamplingRateBytes} bytes on average";
        yield return $"memprof: {info.Collector} ({info.Mode}), {rate}";
        if (info.LostEvents > 0)
            yield return $"memprof: {info.LostEvents} events were lost while recording: lost allocations make alloc_* too low, " +
                         "lost frees make inuse_* too high";
        foreach (var warning in info.Warnings) yield return $"memprof: warning: {warning}";
    }

    static string QuoteForShell(string argument) =>
        argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c))
            ? argument
            : "'" + argument.Replace("'", "'\\''") + "'";
}
