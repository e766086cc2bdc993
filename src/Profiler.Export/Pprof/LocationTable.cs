using Perftools.Profiles;
using Profiler.Core.Model;

namespace Profiler.Export.Pprof;

/// <summary>
/// The model's stack prefix tree as pprof locations and functions. An inlined group (consecutive
/// stack nodes at one address, InlineDepth 0 outermost) becomes one Location whose lines run from
/// the innermost function to the outermost, as profile.proto requires. Caller locations get the
/// return address minus one, inside the call instruction, so that anything re-symbolizing them
/// (pprof -symbolize=force, Parca, …) names the call site as the model did.
/// Frames without a module (an address no recorded mapping covered) become locations with no
/// mapping and their absolute address, named as in the model, so no tool tries to symbolize them.
/// </summary>
sealed class LocationTable(CallTreeTables tables, StringTable strings, MappingTable mappings, Profile profile)
{
    readonly ulong[] _functionIds = new ulong[tables.Functions.Count];
    // The group starting at each stack node, as a caller and as a leaf: arrays indexed by node
    // (a dictionary of as many entries took four times the memory).
    readonly GroupOf[] _callerGroups = new GroupOf[tables.Stacks.Count];
    readonly Dictionary<int, GroupOf> _leafGroups = [];
    readonly Dictionary<(int Frame, bool Leaf), ulong> _locationsByFrame = [];
    readonly Dictionary<string, ulong> _locationsByFrames = [];
    readonly List<FrameId> _frames = [];
    ulong _noStackFunction;

    /// <summary>A group's location (0: not yet known) and the caller node above it.</summary>
    readonly record struct GroupOf(ulong Location, StackId Caller);

    /// <summary>Adds the location ids of a stack, leaf first, to <paramref name="ids"/>.</summary>
    public void AddLocationsOf(StackId stack, Google.Protobuf.Collections.RepeatedField<ulong> ids)
    {
        if (stack.IsNone) ids.Add(NoStackLocation());
        for (var s = stack; !s.IsNone;)
        {
            var (location, caller) = Group(s, leaf: s == stack);
            ids.Add(location);
            s = caller;
        }
    }

    (ulong Location, StackId Caller) Group(StackId start, bool leaf)
    {
        if (!leaf && _callerGroups[start.Index] is { Location: not 0 } known) return (known.Location, known.Caller);
        if (leaf && _leafGroups.TryGetValue(start.Index, out var cached)) return (cached.Location, cached.Caller);
        _frames.Clear();
        var node = tables.Stack(start);
        var first = tables.Frame(node.Frame);
        _frames.Add(node.Frame);
        // Walk out to the group's outermost frame (depth 0); a malformed chain ends at the address change.
        while (tables.Frame(node.Frame).InlineDepth > 0 && !node.Parent.IsNone)
        {
            var parent = tables.Stack(node.Parent);
            var frame = tables.Frame(parent.Frame);
            if (frame.Module != first.Module || frame.Address != first.Address) break;
            node = parent;
            _frames.Add(node.Frame);
        }
        var result = new GroupOf(Intern(first, leaf), node.Parent);
        if (leaf) _leafGroups[start.Index] = result;
        else _callerGroups[start.Index] = result;
        return (result.Location, result.Caller);
    }

    ulong Intern(FrameInfo first, bool leaf)
    {
        // Most locations hold one frame; only inlined groups need a key for the whole sequence.
        string? key = _frames.Count == 1 ? null : (leaf ? "L" : "C") + string.Join(',', _frames.Select(f => f.Index));
        if (key is null ? _locationsByFrame.TryGetValue((_frames[0].Index, leaf), out ulong id) : _locationsByFrames.TryGetValue(key, out id))
            return id;

        var location = new Location
        {
            Id = (ulong)profile.Location.Count + 1,
            Address = leaf || first.Address == 0 ? first.Address : first.Address - 1,
        };
        bool hasFileNames = false;
        foreach (var frameId in _frames)
        {
            var frame = tables.Frame(frameId);
            location.Line.Add(new Line { FunctionId = FunctionId(frame.Function), Line_ = frame.Line ?? 0 });
            hasFileNames |= tables.Function(frame.Function).File is not null;
        }
        if (first.Module is { } module) mappings.Attach(location, module, hasFileNames);
        profile.Location.Add(location);
        if (key is null) _locationsByFrame[(_frames[0].Index, leaf)] = location.Id;
        else _locationsByFrames[key] = location.Id;
        return location.Id;
    }

    ulong FunctionId(FunctionId function)
    {
        ref ulong id = ref _functionIds[function.Index];
        if (id != 0) return id;
        var f = tables.Function(function);
        id = AddFunction(f.Name, f.File, f.Line ?? 0);
        return id;
    }

    ulong NoStackLocation()
    {
        if (_noStackFunction != 0) return _locationsByFrames[PprofExporter.NoStackFunction];
        _noStackFunction = AddFunction(PprofExporter.NoStackFunction, null, 0);
        var location = new Location { Id = (ulong)profile.Location.Count + 1 };
        location.Line.Add(new Line { FunctionId = _noStackFunction });
        profile.Location.Add(location);
        return _locationsByFrames[PprofExporter.NoStackFunction] = location.Id;
    }

    /// <remarks>The model keeps only demangled names, so the system (linkage) name stays empty.
    /// Repeating the name there would not do: pprof takes a name equal to its system name for one
    /// still to be demangled and strips every &lt;…&gt; and (…) from it, which turns Rust's
    /// `&lt;T as Trait&gt;::method` into `::method`.</remarks>
    ulong AddFunction(string name, string? file, long startLine)
    {
        var function = new Function
        {
            Id = (ulong)profile.Function.Count + 1,
            Name = strings.Intern(name),
            Filename = strings.Intern(file),
            StartLine = startLine,
        };
        profile.Function.Add(function);
        return function.Id;
    }
}
