// The Kiln IR text form: one graph, then an optional resource section holding large tensors' bytes.
// See docs/ir-text.md. Reserved words are quoted by the printer wherever a name is expected.
grammar KilnIr;

module_     : graph resources? EOF ;

graph       : 'graph' symbol '(' (param (',' param)*)? ')'
              '->' '(' (result (',' result)*)? ')'
              '{' node* '}' ;
param       : valueName ':' type ;
result      : valueName ':' type | NONE ;

node        : (def (',' def)* '=')? name '(' (operand (',' operand)*)? ')'
              attrDict? (':' type (',' type)*)? loc? ;
def         : valueName | NONE ;
operand     : valueName | NONE ;
loc         : 'loc' '(' STRING ')' ;

attrDict    : '{' (attr (',' attr)*)? '}' ;
attr        : name '=' attrValue ;
attrValue   : scalar                               # scalarAttr
            | '[' scalar (',' scalar)* ']'          # listAttr
            | IDENT '[' ']'                         # emptyListAttr
            | tensor                                # tensorAttr
            | graph                                 # graphAttr
            ;
tensor      : 'dense' '<' type '>' (scalar | '[' (scalar (',' scalar)*)? ']')   # denseTensor
            | 'dense_resource' '<' type '>' symbol                              # resourceTensor
            ;
scalar      : INT | FLOAT | HEX | STRING | 'true' | 'false' | 'nan' | 'inf' | '-inf' ;

type        : IDENT '[' (dim (',' dim)*)? ']'
            | IDENT '[' '*' ']' ;
dim         : INT | '?' | IDENT | STRING ;

resources   : 'resources' '{' resource* '}' ;
resource    : symbol '=' STRING ;

name        : IDENT | STRING ;
valueName   : VALUE_ID | QUOTED_VALUE ;
symbol      : GLOBAL_ID | QUOTED_GLOBAL ;

NONE          : 'none' ;
HEX           : '0x' [0-9a-fA-F]+ ;
FLOAT         : '-'? DIGITS ('.' DIGITS EXP? | EXP) ;
INT           : '-'? DIGITS ;
IDENT         : [A-Za-z_] [A-Za-z0-9_.]* ;
VALUE_ID      : '%' [A-Za-z0-9_.$]+ ;
QUOTED_VALUE  : '%' STRING_BODY ;
GLOBAL_ID     : '@' [A-Za-z0-9_.$]+ ;
QUOTED_GLOBAL : '@' STRING_BODY ;
STRING        : STRING_BODY ;
LINE_COMMENT  : '//' ~[\r\n]* -> skip ;
WS            : [ \t\r\n]+ -> skip ;

fragment DIGITS      : [0-9]+ ;
fragment EXP         : [eE] [+-]? DIGITS ;
fragment STRING_BODY : '"' (~["\\\r\n] | '\\' (["\\nrt] | 'u' HEXD HEXD HEXD HEXD))* '"' ;
fragment HEXD        : [0-9a-fA-F] ;
