namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Back-references to earlier components (S_, S0_...), the std:: abbreviations, and clone suffixes.</summary>
internal sealed partial class Parser
{
    private Node? Substitution()
    {
        if (!Eat('S'))
        {
            return null;
        }

        char c = NextChar();
        if (c == '_' || IsDigit(c) || IsUpper(c))
        {
            int id = 0;
            if (c != '_')
            {
                long accumulated = 0;
                while (c != '_')
                {
                    if (IsDigit(c))
                    {
                        accumulated = (accumulated * 36) + (c - '0');
                    }
                    else if (IsUpper(c))
                    {
                        accumulated = (accumulated * 36) + (c - 'A' + 10);
                    }
                    else
                    {
                        return null;
                    }

                    if (accumulated > int.MaxValue)
                    {
                        return null;
                    }

                    c = NextChar();
                }

                id = (int)accumulated + 1;
            }

            return id < _substitutions.Count ? _substitutions[id] : null;
        }

        var standard = Tables.FindStandardSubstitution(c);
        if (standard is null)
        {
            return null;
        }

        if (standard.ConstructorName is not null)
        {
            _lastName = new Node(NodeKind.StandardSubstitution) { Text = standard.ConstructorName };
        }

        Node? result = new Node(NodeKind.StandardSubstitution) { Text = standard.Expansion };
        if (Peek == 'B')
        {
            // An abbreviation with ABI tags becomes a substitution candidate of its own.
            result = AbiTags(result);
            if (!AddSubstitution(result))
            {
                return null;
            }
        }

        return result;
    }

    private Node? CloneSuffix(Node encoding)
    {
        int start = _position;
        int end = start;
        if (end + 1 < _text.Length && _text[end] == '.'
            && (IsLower(_text[end + 1]) || IsDigit(_text[end + 1]) || _text[end + 1] == '_'))
        {
            end += 2;
            while (end < _text.Length && (IsLower(_text[end]) || IsDigit(_text[end]) || _text[end] == '_'))
            {
                end++;
            }
        }

        while (end + 1 < _text.Length && _text[end] == '.' && IsDigit(_text[end + 1]))
        {
            end += 2;
            while (end < _text.Length && IsDigit(_text[end]))
            {
                end++;
            }
        }

        _position = end;
        return Node.Make(NodeKind.Clone, encoding, Node.Named(_text[start..end]));
    }
}
