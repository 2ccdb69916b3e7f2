// Bit-serial PE (docs/rtl.md "The bit-serial PE"): shift-and-add over the weight's magnitude
// bits, one bit per cycle, no multiplier. It holds two weight register sets in sign-magnitude
// (the activation's set tag picks one). In the first cycle of a beat it takes the left
// neighbour's activation and the upper neighbour's partial sum; in the cycle of phase p it adds
// (or, for a negative weight, subtracts) the activation shifted left by p when bit p of |q| is
// set. After W cycles, W at least the bit length of every |q| of the tile,
// psum_out = psum_in + a * q exactly, with popcount(|q|) additions.
// Sign-magnitude rather than two's complement bits: a negative weight costs the additions of
// its magnitude (-1 is one addition, not b), and FineQ-R's decoded weights need 3 magnitude bits.
// Datapath registers have no reset: `valid` tags every value, and the array drives
// in_valid = 0 until data arrives.
`default_nettype none

module fq_pe_bitserial #(
    parameter ACC_W = 32,
    parameter WBITS = 8,                        // widest INTb weights taken (8, 4, 3, 2)
    parameter QW    = (WBITS > 4) ? WBITS : 4,  // write port: two's complement, FineQ-R -4 .. 3 too
    parameter MW    = (WBITS > 3) ? WBITS : 3,  // magnitude bits: |-2^(b-1)| fits b, FineQ-R's 4 fits 3
    parameter WSETS = 2,                        // weight register sets
    parameter TW    = (WSETS > 2) ? $clog2(WSETS) : 1   // bits of a set tag
) (
    input  wire             clk,
    input  wire             beat_start,  // first cycle of a beat: load the neighbours' outputs
    input  wire [2:0]       phase,       // cycle within the beat, 0 .. W-1: the magnitude bit
    input  wire [7:0]       in_act,
    input  wire             in_valid,
    input  wire [TW-1:0]    in_tag,
    input  wire [ACC_W-1:0] in_psum,
    input  wire             w_clear,     // clear weight set w_tag (start of a preload)
    input  wire             w_en,        // write weight set w_tag
    input  wire [TW-1:0]    w_tag,
    input  wire [QW-1:0]    w_q,
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
  localparam SW = 8 + MW - 1;  // the activation shifted by up to MW - 1
  localparam PB = (MW > 4) ? 3 : 2;  // phase bits that select a magnitude bit

  reg [MW*WSETS-1:0] mags;  // set s: bits MW*s+MW-1:MW*s
  reg [WSETS-1:0]    negs;

  wire             cur_valid = beat_start ? in_valid : valid;
  wire [TW-1:0]    cur_tag   = beat_start ? in_tag : tag;
  wire [7:0]       cur_act   = beat_start ? in_act : act;
  wire [ACC_W-1:0] base      = beat_start ? in_psum : psum;
  // The tag's set, as a mux chain (one 2:1 mux for two sets, as a plain ternary would be).
  reg [MW-1:0] mag;
  reg          neg;
  integer      rs;
  always @(*) begin
    mag = mags[MW-1:0];
    neg = negs[0];
    for (rs = 1; rs < WSETS; rs = rs + 1) begin
      if (cur_tag == rs[TW-1:0]) begin
        mag = mags[MW*rs +: MW];
        neg = negs[rs];
      end
    end
  end
  wire [7:0]       mag_z;    // |q| widened to the 8 phases: phases past its width select a zero
  wire             bit_set   = mag_z[phase];
  wire [SW-1:0]    a_wide    = {{(MW - 1){cur_act[7]}}, cur_act};
  wire [SW-1:0]    a_sh      = a_wide << phase[PB-1:0];
  wire [ACC_W-1:0] a_ext     = {{(ACC_W - SW){a_sh[SW-1]}}, a_sh};

  assign valid_now = cur_valid;
  assign tag_now   = cur_tag;
  assign pulse     = cur_valid && bit_set;
  assign psum_next = !pulse ? base : neg ? base - a_ext : base + a_ext;

  wire          w_neg = w_q[QW-1];
  wire [QW-1:0] w_abs = w_neg ? {QW{1'b0}} - w_q : w_q;  // |-2^(QW-1)| is 1 followed by zeros: right

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
        mags[MW*ws +: MW] <= w_en ? w_abs[MW-1:0] : {MW{1'b0}};
        negs[ws] <= w_en & w_neg;
      end
    end
  end

  generate
    if (MW < 8) begin : g_pad
      assign mag_z = {{(8 - MW){1'b0}}, mag};
    end else begin : g_full
      assign mag_z = mag;
    end
  endgenerate

  // FineQ-R and INT3/INT2 arrays have a 4-bit write port but 3 magnitude bits (|q| <= 4).
  generate
    if (MW < QW) begin : g_narrow
`ifndef SYNTHESIS
      always @(posedge clk) begin
        if (w_en && w_abs[QW-1:MW] != 0) begin
          $display("fq_pe_bitserial: weight %0d does not fit %0d magnitude bits", $signed(w_q), MW);
          $stop;
        end
      end
`endif
    end
  endgenerate
endmodule

`default_nettype wire
