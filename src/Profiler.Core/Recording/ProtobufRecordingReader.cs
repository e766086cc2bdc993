using Google.Protobuf;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>
/// The reference reader: every record through the generated protobuf classes. It allocates
/// objects per record and per column, which costs seconds on recordings of millions of events, so
/// <see cref="RecordingReader"/> decodes event batches itself and hands this reader whatever is
/// not a well-formed recording; this reader gives the verdict on those, and is the oracle the
/// fast path is tested against.
/// </summary>
public static class ProtobufRecordingReader
{
    public static RawRecording Read(Stream stream, string name)
    {
        var magic = new byte[RecordingFormat.Magic.Length];
        int got = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        if (got < magic.Length || !magic.AsSpan().SequenceEqual(RecordingFormat.Magic))
            throw new ProfilerException(ExitCode.WrongFileType, $"{name} is not a memprof recording (wrong file type)");

        var input = new CodedInputStream(stream, leaveOpen: true);
        var warnings = new List<string>();
        Header? header = null;
        var modules = new List<Module>();
        var threads = new List<Proto.Thread>();
        var stacks = new Dictionary<ulong, Stack>();
        var exits = new List<ProcessExit>();
        var execs = new List<ProcessExec>();
        var forks = new List<ProcessFork>();
        var counters = new List<HeapCounters>();
        var events = new EventColumns();
        Stats? stats = null;
        Footer? footer = null;
        long time = 0;
        int index = 0;

        while (!input.IsAtEnd)
        {
            long start = input.Position;
            Record record;
            try
            {
                record = new Record();
                input.ReadMessage(record);
            }
            catch (InvalidProtocolBufferException ex) when (IsTruncation(ex, input, stream))
            {
                warnings.Add($"{name}: the recording ends in the middle of a record at byte {start + magic.Length}" +
                             " (the recorder was probably stopped abruptly); reading what came before it");
                break;
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new ProfilerException(ExitCode.CorruptRecording,
                    $"{name} is corrupt at byte {start + magic.Length} (record {index}): {ex.Message}");
            }

            if (index == 0 && record.KindCase != Record.KindOneofCase.Header)
                throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is corrupt: it does not start with a header");
            index++;
            switch (record.KindCase)
            {
                case Record.KindOneofCase.Header:
                    if (record.Header.FormatVersion > RecordingFormat.Version)
                        throw new ProfilerException(ExitCode.WrongFileType,
                            $"{name} has recording format {record.Header.FormatVersion}; this memprof reads up to {RecordingFormat.Version}");
                    header = record.Header;
                    break;
                case Record.KindOneofCase.Module: modules.Add(record.Module); break;
                case Record.KindOneofCase.Thread: threads.Add(record.Thread); break;
                case Record.KindOneofCase.Stack: stacks[record.Stack.Id] = record.Stack; break;
                case Record.KindOneofCase.ProcessExit: exits.Add(record.ProcessExit); break;
                case Record.KindOneofCase.ProcessExec: execs.Add(record.ProcessExec); break;
                case Record.KindOneofCase.ProcessFork: forks.Add(record.ProcessFork); break;
                case Record.KindOneofCase.HeapCounters: counters.Add(record.HeapCounters); break;
                case Record.KindOneofCase.Stats: stats = record.Stats; break;
                case Record.KindOneofCase.Footer: footer = record.Footer; break;
                case Record.KindOneofCase.Events:
                    time = AppendBatch(record.Events, events, time, name);
                    break;
                default:
                    // Records of a newer minor revision: skip what we do not know.
                    break;
            }
        }

        events.TrimExcess();
        if (header is null)
            throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is truncated before its header");
        if (footer is null && warnings.Count == 0)
            warnings.Add($"{name} has no end marker: the recorder did not finish cleanly; reading what was flushed");

        return new RawRecording
        {
            Header = header, Modules = modules, Threads = threads, Stacks = stacks, Events = events,
            Exits = exits, Execs = execs, Forks = forks, Counters = counters, LastStats = stats, Footer = footer, Warnings = warnings,
        };
    }

    static bool IsTruncation(InvalidProtocolBufferException ex, CodedInputStream input, Stream stream) =>
        ex.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase) || input.IsAtEnd ||
        (stream.CanSeek && stream.Position >= stream.Length);

    static long AppendBatch(EventBatch batch, EventColumns events, long time, string name)
    {
        int n = batch.Kind.Count;
        if (batch.TimeDeltaNanos.Count != n || batch.Pid.Count != n || batch.Tid.Count != n ||
            batch.Address.Count != n || batch.Size.Count != n || batch.Weight.Count != n ||
            batch.StackId.Count != n || batch.Function.Count != n)
            throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is corrupt: an event batch has columns of different lengths");
        for (int i = 0; i < n; i++)
        {
            time += (long)batch.TimeDeltaNanos[i];
            events.Add(new RawEvent(batch.Kind[i], time, batch.Pid[i], batch.Tid[i], batch.Address[i],
                batch.Size[i], batch.Weight[i], batch.StackId[i], batch.Function[i]));
        }
        return time;
    }
}
