// Temporal-coding PE (fineq-spec.md section 5; docs/architecture.md "Array"): no multiplier.
// It holds WSETS weight register sets (sign and |q| <= 4, pe.weight_sets); the activation's set
// tag picks one.
// In the first cycle of a beat it takes the left neighbour's activation and the upper
// neighbour's partial sum; in each cycle whose phase is below |q| it adds (or subtracts) the
// activation. After W cycles psum_out = psum_in + a * q exactly.
// Datapath registers have no reset: `valid` tags every value, and the array drives
// in_valid = 0 until data arrives.
`default_nettype none

module fq_pe_temporal #(
    parameter ACC_W = 32,
    parameter WSETS = 2,                                 // weight register sets
    parameter TW    = (WSETS > 2) ? $clog2(WSETS) : 1   // bits of a set tag
) (
    input  wire             clk,
    input  wire             beat_start,  // first cycle of a beat: load the neighbours' outputs
    input  wire [2:0]       phase,       // cycle within the beat, 0 .. W-1
    input  wire [7:0]       in_act,
    input  wire             in_valid,
    input  wire [TW-1:0]    in_tag,
    input  wire [ACC_W-1:0] in_psum,
    input  wire             w_clear,     // clear weight set w_tag (start of a preload)
    input  wire             w_en,        // write weight set w_tag
    input  wire [TW-1:0]    w_tag,
    input  wire [3:0]       w_q,         // two's complement, -4 .. 3
    output reg  [7:0]       act,
    output reg              valid,
    output reg  [TW-1:0]    tag,   // weight set of the data
    output reg  [ACC_W-1:0] psum,
    output wire             valid_now,   // the data in this PE in this cycle is valid
    output wire [TW-1:0]    tag_now,     // and uses this weight set
    output wire [ACC_W-1:0] psum_next,   // the partial sum at the end of this cycle
    output wire             pulse,       // adds in this cycle
    // register write enables (the cost model charges each: docs/energy.md "Register writes")
    output wire             psum_we,     // psum
    output wire             opnd_we,     // act and tag
    output wire             valid_we,    // valid
    output wire             w_we         // the weight set w_tag
);
  reg [3*WSETS-1:0] mags;  // set s: bits 3s+2:3s
  reg [WSETS-1:0]   negs;

  wire             cur_valid = beat_start ? in_valid : valid;
  wire [TW-1:0]    cur_tag   = beat_start ? in_tag : tag;
  wire [7:0]       cur_act   = beat_start ? in_act : act;
  wire [ACC_W-1:0] base      = beat_start ? in_psum : psum;
  // The tag's set, as a mux chain (one 2:1 mux for two sets, as a plain ternary would be).
  reg [2:0] mag;
  reg       neg;
  integer   rs;
  always @(*) begin
    mag = mags[2:0];
    neg = negs[0];
    for (rs = 1; rs < WSETS; rs = rs + 1) begin
      if (cur_tag == rs[TW-1:0]) begin
        mag = mags[3*rs +: 3];
        neg = negs[rs];
      end
    end
  end
  wire [ACC_W-1:0] a_ext     = {{(ACC_W - 8){cur_act[7]}}, cur_act};

  assign valid_now = cur_valid;
  assign tag_now   = cur_tag;
  assign pulse     = cur_valid && (phase < mag);
  assign psum_next = !pulse ? base : neg ? base - a_ext : base + a_ext;

  wire [2:0] w_abs = w_q[3] ? 3'd0 - w_q[2:0] : w_q[2:0];

  // Each register is written only when its meaning changes: act and tag when data arrives at a
  // beat start, valid also when the data has left (so that it reads 0), psum when data arrives
  // (the upper neighbour's sum, plus the phase-0 add) and on each later pulse. Mid-beat values
  // are held; nothing reads a register of a PE without valid data.
  assign opnd_we  = beat_start && in_valid;
  assign valid_we = beat_start && (in_valid || valid);
  assign psum_we  = opnd_we || pulse;
  assign w_we     = w_clear || w_en;

  integer ws;
  always @(posedge clk) begin
    if (opnd_we) begin
      act <= in_act;
      tag <= in_tag;
    end
    if (valid_we) valid <= in_valid;
    if (psum_we) psum <= psum_next;
    for (ws = 0; ws < WSETS; ws = ws + 1) begin
      if (w_we && w_tag == ws[TW-1:0]) begin
        mags[3*ws +: 3] <= w_en ? w_abs : 3'd0;
        negs[ws] <= w_en & w_q[3];
      end
    end
  end
endmodule

`default_nettype wire
