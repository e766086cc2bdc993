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
        var records = new RecordCollector();
        var warnings = records.Warnings;
        Header? header = null;
        var events = new EventColumns();
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
                records.CutShort = true;
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
                case Record.KindOneofCase.Events:
                    time = AppendBatch(record.Events, events, time, name);
                    break;
                default:
                    // Records of a newer minor revision are skipped: what we do not know.
                    records.Add(record);
                    break;
            }
        }

        events.TrimExcess();
        if (header is null)
            throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is truncated before its header");

        return records.Build(header, events, name);
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
