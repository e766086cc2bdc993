namespace Profiler.TestSupport;

/// <summary>One of a child's output streams, read to its end in the background (so a full pipe
/// never blocks the child) and kept whole; lines can be taken from it as they arrive.</summary>
sealed class CapturedOutput
{
    readonly object _lock = new();
    readonly System.Text.StringBuilder _text = new();
    int _lineStart;
    bool _ended;

    public CapturedOutput(StreamReader reader) => Completion = PumpAsync(reader);

    /// <summary>Done when the stream has ended (every writer closed it).</summary>
    public Task Completion { get; }

    /// <summary>Everything read so far.</summary>
    public string Text
    {
        get { lock (_lock) return _text.ToString(); }
    }

    /// <summary>The next whole line (without its end), or null once the stream ended without one;
    /// false when none came within <paramref name="timeout"/>.</summary>
    public bool TryReadLine(TimeSpan timeout, out string? line)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (true)
            {
                int end = IndexOfNewLine();
                if (end >= 0)
                {
                    line = _text.ToString(_lineStart, end - _lineStart).TrimEnd('\r');
                    _lineStart = end + 1;
                    return true;
                }
                if (_ended)
                {
                    line = _lineStart < _text.Length ? _text.ToString(_lineStart, _text.Length - _lineStart) : null;
                    _lineStart = _text.Length;
                    return true;
                }
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    line = null;
                    return false;
                }
                Monitor.Wait(_lock, left);
            }
        }
    }

    int IndexOfNewLine()
    {
        for (int i = _lineStart; i < _text.Length; i++)
            if (_text[i] == '\n') return i;
        return -1;
    }

    // Asynchronous, so that many children read at once hold no thread each.
    async Task PumpAsync(StreamReader reader)
    {
        var buffer = new char[8192];
        try
        {
            int count;
            while ((count = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                lock (_lock)
                {
                    _text.Append(buffer, 0, count);
                    Monitor.PulseAll(_lock);
                }
        }
        finally
        {
            lock (_lock)
            {
                _ended = true;
                Monitor.PulseAll(_lock);
            }
        }
    }
}
