namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>Operator applications, by number of operands.</summary>
internal sealed partial class Parser
{
    private Node? OperatorExpression()
    {
        var op = OperatorName();
        if (op is null)
        {
            return null;
        }

        string? code = op.Operator?.Code;
        if (code == "st")
        {
            return Node.Make(NodeKind.Unary, op, Type());
        }

        int arity = op.Kind switch
        {
            NodeKind.Operator => op.Operator!.Arity,
            NodeKind.ExtendedOperator => op.Number,
            NodeKind.Cast => 1,
            _ => -1,
        };
        return arity switch
        {
            0 => new Node(NodeKind.Nullary, op),
            1 => UnaryExpression(op, code),
            2 => code is null ? null : BinaryExpression(op, code),
            3 => code is null ? null : TrinaryExpression(op, code),
            _ => null,
        };
    }

    private Node? UnaryExpression(Node op, string? code)
    {
        // pp_ and mm_ are the prefix forms; without the underscore the operator is postfix.
        bool postfix = code is "pp" or "mm" && !Eat('_');
        Node? operand;
        if (op.Kind == NodeKind.Cast && Eat('_'))
        {
            operand = ExpressionList('E');
        }
        else if (code == "sP")
        {
            operand = TemplateArgsBody();
        }
        else
        {
            operand = ExpressionBody();
        }

        if (postfix)
        {
            operand = Node.Make(NodeKind.BinaryArguments, operand, operand);
        }

        return Node.Make(NodeKind.Unary, op, operand);
    }

    private Node? BinaryExpression(Node op, string code)
    {
        Node? left;
        if (op.Operator?.IsNewStyleCast == true)
        {
            left = Type();
        }
        else if (code[0] == 'f')
        {
            // Fold expression: the left operand is the folded operator.
            left = OperatorName();
        }
        else if (code == "di")
        {
            left = UnqualifiedName(null);
        }
        else
        {
            left = ExpressionBody();
        }

        Node? right;
        if (code == "cl")
        {
            right = ExpressionList('E');
        }
        else if (code is "dt" or "pt")
        {
            if ((Peek == 'g' && PeekNext == 's') || (Peek == 's' && PeekNext == 'r'))
            {
                right = ExpressionBody();
            }
            else
            {
                // Older manglings put operator names here without the "on" prefix.
                right = UnqualifiedName(null);
                if (Peek == 'I')
                {
                    right = Node.Make(NodeKind.Template, right, TemplateArgs());
                }
            }
        }
        else
        {
            right = ExpressionBody();
        }

        return Node.Make(NodeKind.Binary, op, Node.Make(NodeKind.BinaryArguments, left, right));
    }

    private Node? TrinaryExpression(Node op, string code)
    {
        Node? first;
        Node? second;
        Node? third;
        if (code is "qu" or "dX")
        {
            first = ExpressionBody();
            second = ExpressionBody();
            third = ExpressionBody();
            if (third is null)
            {
                return null;
            }
        }
        else if (code[0] == 'f')
        {
            first = OperatorName();
            second = ExpressionBody();
            third = ExpressionBody();
            if (third is null)
            {
                return null;
            }
        }
        else if (code is "nw" or "na")
        {
            first = ExpressionList('_');
            second = Type();
            if (Eat('E'))
            {
                third = null;
            }
            else if (Peek == 'p' && PeekNext == 'i')
            {
                Advance(2);
                third = ExpressionList('E');
            }
            else if (Peek == 'i' && PeekNext == 'l')
            {
                third = ExpressionBody();
            }
            else
            {
                return null;
            }
        }
        else
        {
            return null;
        }

        var tail = Node.Make(NodeKind.TrinaryArgument2, second, third);
        return Node.Make(NodeKind.Trinary, op, Node.Make(NodeKind.TrinaryArgument1, first, tail));
    }
}
