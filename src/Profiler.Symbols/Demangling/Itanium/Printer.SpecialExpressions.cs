namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Literals, fold expressions and designated initializers.</summary>
internal sealed partial class Printer
{
    /// <summary>C++17 folds: (... op x), (x op ...), (init op ... op x).</summary>
    private bool TryPrintFold(Node op, Node? foldedOperator, Node? first, Node? second)
    {
        string code = op.Operator!.Code;
        if (code[0] != 'f')
        {
            return false;
        }

        int savedPackIndex = _packIndex;
        _packIndex = -1;
        switch (code[1])
        {
            case 'l':
                Append("(...");
                PrintExpressionOperator(foldedOperator);
                PrintSubexpression(first);
                Append(')');
                break;
            case 'r':
                Append('(');
                PrintSubexpression(first);
                PrintExpressionOperator(foldedOperator);
                Append("...)");
                break;
            case 'L' or 'R':
                Append('(');
                PrintSubexpression(first);
                PrintExpressionOperator(foldedOperator);
                Append("...");
                PrintExpressionOperator(foldedOperator);
                PrintSubexpression(second);
                Append(')');
                break;
        }

        _packIndex = savedPackIndex;
        return true;
    }

    private static bool IsDesignatedInit(Node? node) =>
        node is { Kind: NodeKind.Binary or NodeKind.Trinary, Left.Operator.Code: "di" or "dx" or "dX" };

    /// <summary>.field = value, [index] = value, [first ... last] = value.</summary>
    private bool TryPrintDesignatedInit(Node node)
    {
        if (!IsDesignatedInit(node))
        {
            return false;
        }

        string code = node.Left!.Operator!.Code;
        var operands = node.Right!;
        var target = operands.Left;
        var value = operands.Right;
        Append(code == "di" ? '.' : '[');
        PrintNode(target);
        if (code == "dX")
        {
            Append(" ... ");
            PrintNode(value?.Left);
            value = value?.Right;
        }

        if (code != "di")
        {
            Append(']');
        }

        if (IsDesignatedInit(value))
        {
            // Chained designators are written back to back.
            PrintNode(value);
        }
        else
        {
            Append('=');
            PrintSubexpression(value);
        }

        return true;
    }

    private void PrintLiteral(Node node)
    {
        bool negative = node.Kind == NodeKind.NegativeLiteral;
        var style = node.Left?.Kind == NodeKind.BuiltinType ? node.Left.Builtin!.Style : LiteralStyle.Default;
        var value = node.Right;
        if (value?.Kind == NodeKind.Name)
        {
            string? integerSuffix = style switch
            {
                LiteralStyle.Int => "",
                LiteralStyle.Unsigned => "u",
                LiteralStyle.Long => "l",
                LiteralStyle.UnsignedLong => "ul",
                LiteralStyle.LongLong => "ll",
                LiteralStyle.UnsignedLongLong => "ull",
                _ => null,
            };
            if (integerSuffix is not null)
            {
                if (negative)
                {
                    Append('-');
                }

                PrintNode(value);
                Append(integerSuffix);
                return;
            }

            if (style == LiteralStyle.Bool && !negative && value.Text is "0" or "1")
            {
                Append(value.Text == "0" ? "false" : "true");
                return;
            }
        }

        Append('(');
        PrintNode(node.Left);
        Append(')');
        if (negative)
        {
            Append('-');
        }

        if (style == LiteralStyle.Float)
        {
            Append('[');
        }

        PrintNode(value);
        if (style == LiteralStyle.Float)
        {
            Append(']');
        }
    }
}
