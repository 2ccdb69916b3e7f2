// FineQ-R cluster decoder (fineq-spec.md section 2): one code byte to the three signed weights of
// its cluster. Combinational; every byte is a legal code.
//   idx = code[7:6]: 0 normal (three INT2 fields q0 q1 q2 in bits 5:4, 3:2, 1:0);
//   p = 1..3 outlier: position p-1 is 0, the other two (u < v) are INT3 in bits 5:3 and 2:0.
`default_nettype none

module fq_cluster_decoder (
    input  wire [7:0] code,
    output wire [3:0] q0,  // two's complement, -4 .. 3
    output wire [3:0] q1,
    output wire [3:0] q2
);
  wire [1:0] idx = code[7:6];
  wire [3:0] n0 = {{2{code[5]}}, code[5:4]};
  wire [3:0] n1 = {{2{code[3]}}, code[3:2]};
  wire [3:0] n2 = {{2{code[1]}}, code[1:0]};
  wire [3:0] qu = {code[5], code[5:3]};
  wire [3:0] qv = {code[2], code[2:0]};

`ifdef FQ_FAULT_DECODER
  // Fault injection for tests/cosim only: a planted bug (bit 0 of q0 of normal clusters flipped)
  // that the co-simulation must catch at the first affected accumulator.
  assign q0 = (idx == 2'd0) ? n0 ^ 4'd1 : (idx == 2'd1) ? 4'd0 : qu;
`else
  assign q0 = (idx == 2'd0) ? n0 : (idx == 2'd1) ? 4'd0 : qu;
`endif
  assign q1 = (idx == 2'd0) ? n1 : (idx == 2'd1) ? qu : (idx == 2'd2) ? 4'd0 : qv;
  assign q2 = (idx == 2'd0) ? n2 : (idx == 2'd3) ? 4'd0 : qv;
endmodule

`default_nettype wire
